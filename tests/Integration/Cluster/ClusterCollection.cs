namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// The cluster tests: HAProxy and three or four service processes on fixed loopback ports (127.0.0.1:18420-18431),
/// so they run one at a time, apart from the other collections' load.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Cluster";
}
