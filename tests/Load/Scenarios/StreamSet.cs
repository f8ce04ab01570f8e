using LogsMigration.Load.Infra;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// The writer containers of one or more runs. Each run takes the next phase: it creates <c>/sig/go&lt;phase&gt;</c> and
/// every container of the set prints its next <see cref="LinesPerPhase"/> lines, so one set can serve the legacy and
/// the unified runs of a scenario without being started again. A set can also be one Compose project (<see cref="Project"/>):
/// its containers are then the members of a stack, labelled as Compose labels them, and viewers watch the project.
/// </summary>
internal sealed class StreamSet
{
    private int _phase;

    private StreamSet(string[] names, string signalDir, int rate, long linesPerPhase, int phases, string? project)
    {
        Names = names;
        Project = project;
        SignalDir = signalDir;
        Rate = rate;
        LinesPerPhase = linesPerPhase;
        Phases = phases;
    }

    public string[] Names { get; }
    /// <summary>The Compose project the containers form (member k is <see cref="Names"/>[k - 1], service <c>s&lt;k&gt;</c>); null: plain containers.</summary>
    public string? Project { get; }
    public string SignalDir { get; }
    public int Rate { get; }
    public long LinesPerPhase { get; }
    public int Phases { get; }

    public static async Task<StreamSet> CreateAsync(HarnessContext context, string runId, int count, int rate, long linesPerPhase, int phases, CancellationToken cancellationToken, int padding = 1)
    {
        var names = Enumerable.Range(1, count).Select(i => $"lm-{runId}-{i}").ToArray();
        var signals = context.SignalDir(runId);
        var script = rate > 0 ? WriterScript.Paced(rate, linesPerPhase, phases, padding) : WriterScript.Silent;
        await context.Engine.CreateManyAsync(names.Select(n => (n, script)), signals, cancellationToken);
        return new StreamSet(names, signals, rate, linesPerPhase, phases, project: null);
    }

    /// <summary>
    /// A Compose project of <paramref name="members"/> writers, as <c>docker compose up</c> would label them: project
    /// <c>lm-&lt;runId&gt;</c>, one container of each service <c>s1</c>, <c>s2</c>… Each member's lines say which it is
    /// (<see cref="WriterScript.Paced"/>), and its service name in the entries' metadata is checked against that.
    /// </summary>
    public static async Task<StreamSet> CreateProjectAsync(HarnessContext context, string runId, int members, int rate, long linesPerPhase, int phases, CancellationToken cancellationToken)
    {
        var project = $"lm-{runId}";
        var names = Enumerable.Range(1, members).Select(i => $"{project}-s{i}-1").ToArray();
        var signals = context.SignalDir(runId);
        await context.Engine.CreateManyAsync(names.Select((name, i) => (name, WriterScript.Paced(rate, linesPerPhase, phases, member: i + 1), ComposeLabels(project, i + 1))), signals, cancellationToken);
        return new StreamSet(names, signals, rate, linesPerPhase, phases, project);
    }

    private static IReadOnlyDictionary<string, string>? ComposeLabels(string project, int member) => new Dictionary<string, string>
    {
        ["com.docker.compose.project"] = project,
        ["com.docker.compose.service"] = $"s{member}",
        ["com.docker.compose.container-number"] = "1",
    };

    /// <summary>Takes the next phase: its first and last line numbers.</summary>
    public (int Phase, long FirstLine, long LastLine) NextPhase()
    {
        var phase = Interlocked.Increment(ref _phase);
        if (phase > Phases)
            throw new InvalidOperationException($"stream set has {Phases} phases");
        return (phase, (phase - 1) * LinesPerPhase + 1, phase * LinesPerPhase);
    }

    /// <summary>Starts the writers of a phase (they poll for the file every 20 ms).</summary>
    public void Go(int phase) => File.WriteAllText(Path.Combine(SignalDir, $"go{phase}"), "");

    public Task RemoveAsync(HarnessContext context) => context.Engine.RemoveAsync(Names, CancellationToken.None);
}
