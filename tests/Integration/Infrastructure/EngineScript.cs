namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary><c>scripts/docker-engine.sh</c>: private engines, and the count of a process's connections to one.</summary>
public static class EngineScript
{
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromMinutes(2);

    public static string RepositoryRoot { get; } = FindRoot();

    private static string Script => Path.Combine(RepositoryRoot, "scripts", "docker-engine.sh");

    /// <summary>Starts (or finds running) an engine and returns its <c>unix://</c> endpoint.</summary>
    public static async Task<string> StartAsync(string engine) =>
        (await ProcessRunner.RunCheckedAsync("bash", [Script, "start", engine], EngineTimeout)).Trim();

    public static Task StopAsync(string engine) => ProcessRunner.RunCheckedAsync("bash", [Script, "stop", engine], EngineTimeout);

    public static Task ImportImageAsync(string engine) => ProcessRunner.RunCheckedAsync("bash", [Script, "image", engine], EngineTimeout);

    /// <summary>How many connections process <paramref name="pid"/> holds to the daemon socket at <paramref name="socketPath"/>.</summary>
    public static async Task<int> ConnectionsAsync(string socketPath, int pid) =>
        int.Parse((await ProcessRunner.RunCheckedAsync("bash", [Script, "connections", socketPath, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])).Trim(),
            System.Globalization.CultureInfo.InvariantCulture);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LogsMigration.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"No LogsMigration.sln above {AppContext.BaseDirectory}.");
    }
}
