using System.Globalization;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// Dovecot's UID map of a Maildir folder ("dovecot-uidlist", the Courier courierimapuiddb layout), read once when
/// this store first indexes a folder Dovecot served, so IMAP UIDs, UIDVALIDITY and POP3 UIDLs built from them stay
/// what clients already know. Version 3 (Dovecot 1.1 and later): a header <c>3 V&lt;uidvalidity&gt;
/// N&lt;next uid&gt; G&lt;guid&gt;</c>, then <c>&lt;uid&gt; [&lt;key&gt;&lt;value&gt; ...] :&lt;file name&gt;</c> per
/// message. Version 1: <c>1 &lt;uidvalidity&gt; &lt;next uid&gt;</c>, then <c>&lt;uid&gt; &lt;file name&gt;</c>.
/// File names are keyed by their base (without the ":2," info part, which Dovecot does not record).
/// </summary>
internal sealed class DovecotUidList
{
    public const string FileName = "dovecot-uidlist";

    private DovecotUidList(uint uidValidity, uint nextUid, Dictionary<string, uint> uids)
    {
        UidValidity = uidValidity;
        NextUid = nextUid;
        UidsByBaseName = uids;
    }

    public uint UidValidity { get; }

    /// <summary>The UID Dovecot would give the next message (above every UID listed).</summary>
    public uint NextUid { get; }

    public IReadOnlyDictionary<string, uint> UidsByBaseName { get; }

    /// <summary>
    /// Reads the folder's uidlist; null when there is none, its header is unusable, or its UIDs could not go on (a UID or
    /// next UID of 4294967295): then nothing is adopted.
    /// </summary>
    public static DovecotUidList? TryRead(string directory)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Combine(directory, FileName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(lines);
    }

    /// <summary>Reads the lines of a uidlist (<see cref="TryRead"/> without the file); null when its header is unusable.</summary>
    internal static DovecotUidList? Parse(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0 || !TryParseHeader(lines[0], out var version, out var uidValidity, out var nextUid))
        {
            return null;
        }
        var uids = new Dictionary<string, uint>(lines.Count, StringComparer.Ordinal);
        var taken = new HashSet<uint>();
        foreach (var line in lines.Skip(1))
        {
            // A line that does not parse (a torn write) is skipped: its file gets a new UID like any unknown file.
            if (TryParseRecord(line, version, out var uid, out var baseName) && taken.Add(uid))
            {
                if (uid == uint.MaxValue)
                {
                    return null; // no UID could follow it: number the folder afresh (a new UIDVALIDITY)
                }
                uids.TryAdd(baseName, uid);
                nextUid = Math.Max(nextUid, uid + 1);
            }
        }
        // A next UID of 4294967295 leaves the folder one UID at most, like a UID of 4294967295 none: number it afresh.
        return nextUid == uint.MaxValue ? null : new DovecotUidList(uidValidity, Math.Max(nextUid, 1), uids);
    }

    private static bool TryParseHeader(string line, out int version, out uint uidValidity, out uint nextUid)
    {
        version = 0;
        uidValidity = 0;
        nextUid = 1;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length >= 3 && fields[0] == "1")
        {
            version = 1;
            return TryU32(fields[1], out uidValidity) && uidValidity != 0 && TryU32(fields[2], out nextUid);
        }
        if (fields.Length < 2 || fields[0] != "3")
        {
            return false;
        }
        version = 3;
        foreach (var field in fields.AsSpan(1))
        {
            var ok = field[0] switch
            {
                'V' => TryU32(field.AsSpan(1), out uidValidity),
                'N' => TryU32(field.AsSpan(1), out nextUid),
                _ => true, // G (mailbox GUID) and whatever later versions add
            };
            if (!ok)
            {
                return false;
            }
        }
        return uidValidity != 0;
    }

    private static bool TryParseRecord(string line, int version, out uint uid, out string baseName)
    {
        uid = 0;
        baseName = "";
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !TryU32(line.AsSpan(0, space), out uid) || uid == 0)
        {
            return false;
        }
        string name;
        if (version == 1)
        {
            name = line[(space + 1)..];
        }
        else
        {
            // Extension fields (W<size>, S<size>, G<guid>, ...) come first; the file name follows " :".
            var colon = line.IndexOf(" :", space, StringComparison.Ordinal);
            if (colon < 0)
            {
                return false;
            }
            name = line[(colon + 2)..];
        }
        var info = name.IndexOf(":2,", StringComparison.Ordinal);
        baseName = info < 0 ? name : name[..info];
        return baseName.Length > 0;
    }

    private static bool TryU32(ReadOnlySpan<char> text, out uint value) => uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
