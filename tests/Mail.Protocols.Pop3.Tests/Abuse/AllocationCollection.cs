namespace Mail.Protocols.Pop3.Tests.Abuse;

/// <summary>Tests that measure what the process allocates (<see cref="AllocationProbe"/>) run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "Allocation measured";
}
