using LogsMigration.Load.Infra;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// The writer containers of one or more runs. Each run takes the next phase: it creates <c>/sig/go&lt;phase&gt;</c> and
/// every container of the set prints its next <see cref="LinesPerPhase"/> lines, so one set can serve the legacy and
/// the unified runs of a scenario without being started again.
/// </summary>
internal sealed class StreamSet
{
    private int _phase;

    private StreamSet(string[] names, string signalDir, int rate, long linesPerPhase, int phases)
    {
        Names = names;
        SignalDir = signalDir;
        Rate = rate;
        LinesPerPhase = linesPerPhase;
        Phases = phases;
    }

    public string[] Names { get; }
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
        return new StreamSet(names, signals, rate, linesPerPhase, phases);
    }

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
