namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>The docker CLI of the Debian package the engine script installs (it matches dockerd 20.10), for test setup.</summary>
public static class DockerCli
{
    /// <summary>The image every engine gets from <c>docker-engine.sh image</c>.</summary>
    public const string Image = "local/busybox:latest";

    public const string Docker = "/usr/bin/docker";

    public static Task<string> RunAsync(string endpoint, params string[] arguments) =>
        ProcessRunner.RunCheckedAsync(Docker, ["-H", endpoint, .. arguments]);

    /// <summary>For cleanup: a failure (already removed) is not a test failure.</summary>
    public static Task<ProcessRunner.Result> TryRunAsync(string endpoint, params string[] arguments) =>
        ProcessRunner.RunAsync(Docker, ["-H", endpoint, .. arguments]);

    /// <summary>A name no other test or run uses, so tests can run in parallel against one engine.</summary>
    public static string UniqueName(string purpose) => $"lmit-{purpose}-{Guid.NewGuid().ToString("N")[..10]}";
}
