namespace Mail.Protocols.Fuzz;

/// <summary>One input that failed when replayed: its file and what went wrong.</summary>
internal sealed record ReplayFailure(string File, string Problem);

/// <summary>
/// Runs inputs through a target in this process, as the tests and `--replay` do. Each input runs on its own thread
/// and counts as a failure (a hang) when it does not finish within the time allowed; the thread is a background
/// thread, so a hung input cannot keep the process alive.
/// </summary>
internal static class Replay
{
    /// <summary>The time one input may take before it counts as a hang (afl-fuzz's -t in fuzz.sh is shorter).</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The files named, and the files under the folders named (recursively, in ordinal order).</summary>
    public static IReadOnlyList<string> Inputs(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var found = Directory.GetFiles(path, "*", SearchOption.AllDirectories);
                Array.Sort(found, StringComparer.Ordinal);
                files.AddRange(found);
            }
            else
            {
                files.Add(path);
            }
        }

        return files;
    }

    /// <summary>Runs every input file through <paramref name="target"/>; returns the failures, in order.</summary>
    public static IReadOnlyList<ReplayFailure> Run(IFuzzTarget target, IEnumerable<string> files)
    {
        var failures = new List<ReplayFailure>();
        foreach (var file in files)
        {
            byte[] input;
            try
            {
                input = File.ReadAllBytes(file);
            }
            catch (IOException exception)
            {
                failures.Add(new ReplayFailure(file, $"cannot be read: {exception.Message}"));
                continue;
            }

            var problem = RunOne(target, input);
            if (problem is not null)
            {
                failures.Add(new ReplayFailure(file, problem));
            }
        }

        return failures;
    }

    /// <summary>Runs one input; null when it passed, else the problem (the exception, or a hang).</summary>
    public static string? RunOne(IFuzzTarget target, byte[] input)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                target.Run(input);
            }
#pragma warning disable CA1031 // Every exception is a finding here: it is reported, not handled.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                failure = exception;
            }
        }, maxStackSize: 16 * 1024 * 1024)
        {
            IsBackground = true,
            Name = "fuzz replay " + target.Name,
        };
        thread.Start();
        if (!thread.Join(HangTimeout))
        {
            return $"hang: did not finish within {HangTimeout.TotalSeconds:0} s";
        }

        return failure?.ToString();
    }
}
