namespace MnistNet.Tests;

/// <summary>Tests that measure process-wide state (allocations on every thread) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTestGroup
{
    public const string Name = "Serial";
}
