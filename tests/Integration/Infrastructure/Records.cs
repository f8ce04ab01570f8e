using System.Text.RegularExpressions;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>Reading and checking the numbered lines the test containers print (<c>run=R n=N</c> or <c>n=N</c>).</summary>
public static partial class Records
{
    public static async Task<List<SourceRecord>> ReadAllAsync(IAsyncEnumerable<SourceRecord> records, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var list = new List<SourceRecord>();
        await foreach (var record in records.WithCancellation(cts.Token))
            list.Add(record);
        return list;
    }

    /// <summary>The run id and the number of a numbered line; the run is empty for plain <c>n=N</c> lines.</summary>
    public static (string Run, int N) Parse(string text)
    {
        var match = NumberedLine().Match(text);
        Assert.True(match.Success, $"Not a numbered line: '{text}'");
        return (match.Groups["run"].Value, int.Parse(match.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Asserts that the numbers of each run go up by exactly one (nothing lost, nothing repeated) and returns the
    /// runs in the order they first appeared, with their numbers.
    /// </summary>
    public static List<(string Run, List<int> Numbers)> AssertContiguousPerRun(IEnumerable<string> texts)
    {
        var runs = new List<(string Run, List<int> Numbers)>();
        foreach (var text in texts)
        {
            var (run, n) = Parse(text);
            var index = runs.FindIndex(r => r.Run == run);
            if (index < 0)
            {
                runs.Add((run, [n]));
                continue;
            }
            var numbers = runs[index].Numbers;
            Assert.True(n == numbers[^1] + 1, $"Run {run}: {n} follows {numbers[^1]} (a line lost or repeated).");
            numbers.Add(n);
        }
        return runs;
    }

    [GeneratedRegex(@"^(?:run=(?<run>\d+) )?n=(?<n>\d+)$")]
    private static partial Regex NumberedLine();
}
