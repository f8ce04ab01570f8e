namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>Tests that count the test process's own daemon connections: they run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SequentialCollection
{
    public const string Name = "Sequential";
}
