using System.Text;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Text;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// The "subscriptions" file in a user's Maildir, as Dovecot reads and writes it (format version 2): the line
/// <c>V&lt;TAB&gt;2</c> and an empty line, then one subscribed name per line, its levels separated by TAB, each level
/// in modified UTF-7 as in the folder's directory name ("Gr&amp;APYA3w-e" for "Größe"; Dovecot 2.3 writes them so,
/// checked by the interop tests). Dovecot escapes control characters in a level (0x01 and a letter); folder names of
/// this store have none, so such lines are kept but not listed. A file without that header (version 1) has one name
/// per line with the Maildir++ separator '.' between levels.
/// </summary>
/// <remarks>
/// A change is made as Dovecot makes it: under the dotlock "subscriptions.lock", read the lines, add or remove the
/// one line, and replace the file atomically. Lines this store cannot read as a name are kept as they are.
/// </remarks>
internal static class SubscriptionFile
{
    public const string FileName = "subscriptions";
    private const string Header = "V\t2";

    /// <summary>The subscribed names, in ordinal order without duplicates.</summary>
    public static IReadOnlyList<string> Read(string directory)
    {
        var (version2, lines) = Load(Path.Combine(directory, FileName));
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (Decode(line, version2) is { } name)
            {
                names.Add(name);
            }
        }
        return [.. names];
    }

    /// <summary>Adds (<paramref name="subscribe"/>) or removes the line of <paramref name="name"/>; leaves the file alone when nothing changes.</summary>
    public static void Set(string directory, string name, bool subscribe, bool sync, UnixFileMode permissions)
    {
        var path = Path.Combine(directory, FileName);
        using var dotlock = DotLock.Acquire(path, permissions);
        var (version2, lines) = Load(path);
        var matches = lines.RemoveAll(line => Decode(line, version2) == name);
        if (subscribe)
        {
            if (matches == 1)
            {
                return;
            }
            lines.Add(Encode(name, version2));
        }
        else if (matches == 0)
        {
            return;
        }
        var text = new StringBuilder();
        if (version2)
        {
            text.Append(Header).Append("\n\n");
        }
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }
        DurableIO.WriteAtomically(path, Encoding.UTF8.GetBytes(text.ToString()), sync, permissions);
    }

    // A missing file is version 2 with no lines: that is what a new file is written as.
    private static (bool Version2, List<string> Lines) Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (FileNotFoundException)
        {
            return (true, []);
        }
        var lines = text.Split('\n').ToList();
        var version2 = lines.Count >= 2 && lines[0] == Header && lines[1].Length == 0;
        if (version2)
        {
            lines.RemoveRange(0, 2);
        }
        lines.RemoveAll(line => line.Length == 0);
        return (version2, lines);
    }

    private static string? Decode(string line, bool version2)
    {
        var levels = version2 ? line.Split('\t') : line.Split('.');
        for (var i = 0; i < levels.Length; i++)
        {
            // An escaped control character (0x01 and a letter) is no modified UTF-7, and one encoded in modified UTF-7
            // ("&AAE-") is no character of a folder name either: such a line is no name of this store.
            if (levels[i].Length == 0 || ModifiedUtf7.Decode(levels[i]) is not { } level || level.Contains(FolderNames.Separator, StringComparison.Ordinal)
                || level.Any(char.IsControl))
            {
                return null;
            }
            levels[i] = level;
        }
        return FolderNames.Normalize(string.Join(FolderNames.Separator, levels));
    }

    private static string Encode(string name, bool version2) =>
        string.Join(version2 ? '\t' : '.', name.Split(FolderNames.Separator).Select(ModifiedUtf7.Encode));
}
