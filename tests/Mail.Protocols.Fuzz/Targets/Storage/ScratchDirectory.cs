using System.Text;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// A directory of this process per target, emptied before each run, for the readers that take a file (the index journal,
/// the keyword file, ...): under /dev/shm when there is one, so that a run costs no disk. Removed when the process exits
/// (or by a later one, once its process is gone).
/// </summary>
internal static class ScratchDirectory
{
    private static readonly string s_root = CreateRoot();

    /// <summary>An empty directory for <paramref name="target"/>.</summary>
    public static string Fresh(string target)
    {
        var directory = Path.Combine(s_root, target);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>The lines of <paramref name="input"/> as <see cref="File.ReadAllLines(string)"/> reads them (UTF-8, CR, LF or CRLF).</summary>
    public static List<string> Lines(ReadOnlySpan<byte> input)
    {
        using var reader = new StreamReader(new MemoryStream(input.ToArray()), Encoding.UTF8);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    private static string CreateRoot()
    {
        var parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        // A process afl killed (a hang) or a crash left its directory behind: removed once its process is gone.
        foreach (var stale in Directory.EnumerateDirectories(parent, "mp-fuzz-*"))
        {
            if (int.TryParse(Path.GetFileName(stale).AsSpan("mp-fuzz-".Length), out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        var root = Path.Combine(parent, $"mp-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return root;
    }
}
