using System.Globalization;

namespace LogsMigration.Load.Infra;

/// <summary>
/// Reads what the kernel says about a process or the machine, from outside it: CPU time from <c>/proc/PID/stat</c>,
/// resident memory from <c>/proc/PID/status</c>, machine-wide CPU from <c>/proc/stat</c>. No agent in the measured
/// process, so the service and dockerd are measured exactly as they run.
/// </summary>
internal static class Proc
{
    /// <summary>USER_HZ: the unit of the CPU times in <c>/proc</c>. It is 100 on every Linux this runs on.</summary>
    public const double TicksPerSecond = 100;

    /// <summary>User plus system CPU time of a process, in clock ticks; 0 when it is gone.</summary>
    public static long CpuTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Resident set size of a process in bytes (VmRSS); 0 when it is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    /// <summary>Busy and total ticks of the whole machine (all cores), from the first line of <c>/proc/stat</c>.</summary>
    public static (long Busy, long Total) MachineTicks()
    {
        var first = File.ReadLines("/proc/stat").First();
        var values = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = values.Take(8).Sum();
        var idle = values[3] + values[4];
        return (total - idle, total);
    }

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>
    /// The processes of a Docker engine other than dockerd itself: containerd, the shims (which re-parent themselves to
    /// init, so they are found by the engine's folder in their command line) and every process below them (the
    /// containers). <paramref name="engineDir"/> is the engine's state folder.
    /// </summary>
    public static IReadOnlyList<int> EngineProcesses(int dockerd, string engineDir)
    {
        var roots = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == dockerd)
                continue;
            try
            {
                var commandLine = File.ReadAllText($"{dir}/cmdline");
                if (commandLine.Contains(engineDir, StringComparison.Ordinal))
                    roots.Add(pid);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return roots.Concat(roots.SelectMany(Descendants)).Concat(Descendants(dockerd)).Distinct().ToList();
    }

    /// <summary>Every process below <paramref name="root"/> (children, their children…), from the parent pids in <c>/proc</c>.</summary>
    public static IReadOnlyList<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText($"{dir}/stat");
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(ppid, out var list))
                    children[ppid] = list = [];
                list.Add(pid);
            }
            catch (IOException)
            {
            }
        }
        var result = new List<int>();
        var pending = new Stack<int>([root]);
        while (pending.Count > 0)
        {
            foreach (var child in children.GetValueOrDefault(pending.Pop()) ?? [])
            {
                result.Add(child);
                pending.Push(child);
            }
        }
        return result;
    }
}

/// <summary>CPU used by a set of processes between two instants, as a percentage of one core.</summary>
internal sealed class CpuWindow
{
    private readonly Dictionary<string, (int Pid, long Ticks)> _start = [];
    private readonly Dictionary<int, long> _groupStart = [];
    private Func<IReadOnlyList<int>>? _group;
    private (long Busy, long Total) _machine;
    private long _startTimestamp;

    /// <param name="processes">Processes reported by name.</param>
    /// <param name="group">Processes reported together as <c>containers</c> (the engine's containerd, shims and writers), found again at the end.</param>
    public static CpuWindow Start(IReadOnlyDictionary<string, int> processes, Func<IReadOnlyList<int>>? group = null)
    {
        var window = new CpuWindow { _group = group };
        foreach (var (name, pid) in processes)
            window._start[name] = (pid, Proc.CpuTicks(pid));
        if (group is not null)
        {
            foreach (var pid in group())
                window._groupStart[pid] = Proc.CpuTicks(pid);
        }
        window._machine = Proc.MachineTicks();
        window._startTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        return window;
    }

    /// <summary>Percent of one core per process, plus <c>machine</c> (all cores, so at most 100 × cores) and <c>other</c> (the machine less the named processes and the group: someone else's work).</summary>
    public Dictionary<string, double> Stop()
    {
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds;
        var result = new Dictionary<string, double>();
        double named = 0;
        foreach (var (name, (pid, ticks)) in _start)
        {
            var used = Math.Max(0, Proc.CpuTicks(pid) - ticks) / Proc.TicksPerSecond;
            result[name] = Math.Round(100 * used / seconds, 1);
            named += used;
        }
        if (_group is not null)
        {
            // Processes started during the window count from zero; those gone by its end are not counted.
            var used = _group().Sum(pid => Math.Max(0, Proc.CpuTicks(pid) - _groupStart.GetValueOrDefault(pid))) / Proc.TicksPerSecond;
            result["containers"] = Math.Round(100 * used / seconds, 1);
            named += used;
        }
        var machine = Proc.MachineTicks();
        var busy = (machine.Busy - _machine.Busy) / Proc.TicksPerSecond;
        result["machine"] = Math.Round(100 * busy / seconds, 1);
        result["other"] = Math.Round(Math.Max(0, 100 * (busy - named) / seconds), 1);
        return result;
    }
}
