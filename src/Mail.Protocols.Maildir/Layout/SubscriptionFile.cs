using System.Text;
using Mail.Protocols.Maildir.Durability;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// The "subscriptions" file in a user's Maildir, as Dovecot reads and writes it (format version 2): the line
/// <c>V&lt;TAB&gt;2</c> and an empty line, then one subscribed name per line, its levels separated by TAB, each level
/// in UTF-8 with Dovecot's escapes (0x01 followed by '1', 't', 'r', 'n' or '0' for 0x01, TAB, CR, LF or NUL).
/// A file without that header (version 1) has one name per line with the Maildir++ separator '.' between levels.
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
    public static void Set(string directory, string name, bool subscribe, bool sync)
    {
        var path = Path.Combine(directory, FileName);
        using var dotlock = DotLock.Acquire(path);
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
        DurableIO.WriteAtomically(path, Encoding.UTF8.GetBytes(text.ToString()), sync);
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
        if (!version2)
        {
            return FolderNames.Normalize(line.Replace('.', FolderNames.Separator));
        }
        var levels = line.Split('\t');
        for (var i = 0; i < levels.Length; i++)
        {
            if (Unescape(levels[i]) is not { Length: > 0 } level || level.Contains(FolderNames.Separator, StringComparison.Ordinal))
            {
                return null;
            }
            levels[i] = level;
        }
        return FolderNames.Normalize(string.Join(FolderNames.Separator, levels));
    }

    private static string Encode(string name, bool version2) =>
        version2 ? string.Join('\t', name.Split(FolderNames.Separator).Select(Escape)) : name.Replace(FolderNames.Separator, '.');

    private static string Escape(string level)
    {
        if (level.AsSpan().IndexOfAny("\u0001\t\r\n\0") < 0)
        {
            return level;
        }
        var escaped = new StringBuilder(level.Length + 4);
        foreach (var c in level)
        {
            _ = c switch
            {
                '\u0001' => escaped.Append("\u00011"),
                '\t' => escaped.Append("\u0001t"),
                '\r' => escaped.Append("\u0001r"),
                '\n' => escaped.Append("\u0001n"),
                '\0' => escaped.Append("\u00010"),
                _ => escaped.Append(c),
            };
        }
        return escaped.ToString();
    }

    private static string? Unescape(string level)
    {
        if (!level.Contains('\u0001', StringComparison.Ordinal))
        {
            return level;
        }
        var plain = new StringBuilder(level.Length);
        for (var i = 0; i < level.Length; i++)
        {
            if (level[i] != '\u0001')
            {
                plain.Append(level[i]);
                continue;
            }
            if (++i == level.Length)
            {
                return null;
            }
            plain.Append(level[i] switch { '1' => '\u0001', 't' => '\t', 'r' => '\r', 'n' => '\n', '0' => '\0', _ => level[i] });
        }
        return plain.ToString();
    }
}
