namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// Tests that read the process-wide Prometheus scrape (OpenTelemetry listens to every <c>LogsMigration</c> meter in
/// the process, from every test host): they run alone, after the parallel ones, so no other host's sessions count.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetricsCollection
{
    public const string Name = "ProcessWideMetrics";
}
