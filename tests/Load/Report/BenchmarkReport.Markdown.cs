namespace LogsMigration.Load.Report;

internal sealed partial class BenchmarkReport
{
    private string Markdown() => "TODO";
}
