namespace Mail.Protocols.Fuzz;

/// <summary>
/// One fuzz target: a parser or decoder fed with arbitrary bytes. <see cref="Run"/> returns normally when every
/// property it checks holds, and throws <see cref="FuzzPropertyException"/> (or lets an undocumented exception escape)
/// when one does not; afl-fuzz records either as a crash. A target catches only the exceptions its parser documents
/// for bad input, is deterministic (no clock, no randomness but what it derives from the input) and keeps no state
/// between runs. Targets are sealed classes under Targets/, found by reflection (<see cref="FuzzTargets"/>): adding
/// one touches no shared file. Its seed corpus lives in Corpus/&lt;Name&gt;/ and its pinned crashes in
/// Regressions/&lt;Name&gt;/.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name on the command line and of the Corpus/ and Regressions/ folders, for example "SmtpCommandLine".</summary>
    string Name { get; }

    /// <summary>Runs the parser over <paramref name="input"/> and checks what must hold.</summary>
    void Run(ReadOnlySpan<byte> input);
}
