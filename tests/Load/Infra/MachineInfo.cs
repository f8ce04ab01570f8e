using System.Runtime.InteropServices;

namespace LogsMigration.Load.Infra;

/// <summary>The machine a report was measured on, as the report describes it.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, double MemoryGiB, string Kernel, string Os, string Dotnet, string Dockerd, string Started)
{
    public static async Task<MachineInfo> DescribeAsync(DockerEngine engine, CancellationToken cancellationToken)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kib = double.Parse(memory.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "Linux"
            : "Linux";
        return new MachineInfo(cpu, Environment.ProcessorCount, Math.Round(kib / 1048576, 1), File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), os,
            RuntimeInformation.FrameworkDescription, await engine.VersionAsync(cancellationToken), DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
    }
}
