using System.Globalization;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Infra;

/// <summary>Reads values out of the service's <c>/metrics</c> (Prometheus text format).</summary>
internal static class PrometheusText
{
    /// <summary>
    /// Percentiles of a histogram from its cumulative buckets, summed over the series whose labels contain every
    /// <paramref name="labels"/> item; each percentile is the upper bound of its bucket (so "at most"), in ms.
    /// </summary>
    public static Percentiles? HistogramMs(string text, string name, params string[] labels) =>
        FromBuckets(Buckets(text, name, labels));

    /// <summary>As <see cref="HistogramMs"/>, for what was recorded between two scrapes of the same process.</summary>
    public static Percentiles? HistogramDeltaMs(string before, string after, string name, params string[] labels)
    {
        var earlier = Buckets(before, name, labels);
        var buckets = Buckets(after, name, labels);
        foreach (var bound in buckets.Keys.ToList())
            buckets[bound] -= earlier.GetValueOrDefault(bound);
        return FromBuckets(buckets);
    }

    private static SortedDictionary<double, double> Buckets(string text, string name, string[] labels)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "_bucket{", StringComparison.Ordinal) || !labels.All(l => line.Contains(l, StringComparison.Ordinal)))
                continue;
            var le = line.IndexOf("le=\"", StringComparison.Ordinal);
            var end = line.IndexOf('"', le + 4);
            var bound = line[(le + 4)..end] == "+Inf" ? double.PositiveInfinity : double.Parse(line[(le + 4)..end], CultureInfo.InvariantCulture);
            var value = Value(line);
            buckets[bound] = buckets.GetValueOrDefault(bound) + value;
        }
        return buckets;
    }

    private static Percentiles? FromBuckets(SortedDictionary<double, double> buckets)
    {
        if (buckets.Count == 0 || buckets.Values.Max() == 0)
            return null;
        var total = buckets.Values.Max();
        double At(double p) => buckets.First(b => b.Value >= p * total).Key * 1000;
        return new Percentiles(At(0.5), At(0.99), At(1.0), (long)total);
    }

    /// <summary>Sum of the samples of a counter or gauge whose labels contain every <paramref name="labels"/> item.</summary>
    public static double Sum(string text, string name, params string[] labels)
    {
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || (line[name.Length] != '{' && line[name.Length] != ' '))
                continue;
            if (!labels.All(l => line.Contains(l, StringComparison.Ordinal)))
                continue;
            sum += Value(line);
        }
        return sum;
    }

    /// <summary>The sample value: the first field after the name and labels (an exporter may add a timestamp after it).</summary>
    private static double Value(string line)
    {
        var close = line.LastIndexOf('}');
        var rest = (close >= 0 ? line[(close + 1)..] : line[line.IndexOf(' ')..]).Trim();
        var space = rest.IndexOf(' ');
        return double.Parse(space < 0 ? rest : rest[..space], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
