namespace Mail.Protocols.Fuzz.Tests;

/// <summary>
/// Every fuzz target over its seed corpus (Corpus/&lt;Target&gt;/) and its pinned regressions
/// (Regressions/&lt;Target&gt;/), in process: each input must pass every property the target checks.
/// </summary>
public sealed class ReplayTests
{
    public static TheoryData<string> TargetNames => [.. FuzzTargets.All.Select(target => target.Name)];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Corpus_and_regressions_replay_without_failure(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var files = Replay.Inputs(new[] { Folder("Corpus", name), Folder("Regressions", name) }.Where(Directory.Exists));

        var failures = Replay.Run(target, files);

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Select(f => $"{Path.GetFileName(f.File)}: {f.Problem}")));
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Every_target_has_a_seed_corpus(string name)
    {
        var folder = Folder("Corpus", name);

        Assert.True(Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any(), $"Corpus/{name}/ is missing or empty");
    }

    [Fact]
    public void Every_corpus_and_regression_folder_belongs_to_a_target()
    {
        var names = FuzzTargets.All.Select(target => target.Name).ToHashSet(StringComparer.Ordinal);
        var folders = new[] { "Corpus", "Regressions" }
            .Select(root => Path.Combine(AppContext.BaseDirectory, root))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories);

        Assert.All(folders, folder => Assert.Contains(Path.GetFileName(folder), names));
    }

    [Fact]
    public void Replay_reports_each_failing_input_with_its_file()
    {
        var folder = Directory.CreateTempSubdirectory("fuzz-replay-");
        try
        {
            File.WriteAllBytes(Path.Combine(folder.FullName, "good"), "ok"u8.ToArray());
            File.WriteAllBytes(Path.Combine(folder.FullName, "bad"), "x"u8.ToArray());

            var failures = Replay.Run(new FailsOnX(), Replay.Inputs([folder.FullName]));

            var failure = Assert.Single(failures);
            Assert.Equal("bad", Path.GetFileName(failure.File));
            Assert.Contains(nameof(FuzzPropertyException), failure.Problem, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string Folder(string root, string name) => Path.Combine(AppContext.BaseDirectory, root, name);

    private sealed class FailsOnX : IFuzzTarget
    {
        public string Name => "FailsOnX";

        public void Run(ReadOnlySpan<byte> input) => Fuzz.Check(input.IndexOf((byte)'x') < 0, "an x");
    }
}
