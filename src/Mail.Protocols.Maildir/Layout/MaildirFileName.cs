using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// A message file name in Maildir form: a unique base ("time.MusecPpidQn.host,S=size") and, in cur/, the
/// info part ":2," followed by flag letters in ASCII order — D(raft) F(lagged) P(assed) R(eplied) S(een)
/// T(rashed) for the standard flags and a–z for keywords numbered by the folder's keyword file.
/// </summary>
internal readonly record struct MaildirFileName(string BaseName, MessageFlags Flags, string KeywordLetters, bool Passed)
{
    private const string InfoPrefix = ":2,";
    private static long s_counter;

    /// <summary>
    /// A fresh unique base name with the file's size (",S=") and, when known, the message's size with CRLF line
    /// ends (",W=", which differs for a file with LF line ends) in it, as Dovecot names them: a reader (Dovecot, or
    /// this store indexing the folder afresh) then needs neither a stat nor a read of the file to know either.
    /// </summary>
    public static string NewBaseName(string hostName, DateTimeOffset now, long fileSize, long? wireSize) =>
        wireSize is { } w
            ? string.Create(CultureInfo.InvariantCulture, $"{UniquePart(hostName, now)},S={fileSize},W={w}")
            : string.Create(CultureInfo.InvariantCulture, $"{UniquePart(hostName, now)},S={fileSize}");

    /// <summary>A temporary name in tmp/ for a message being written.</summary>
    public static string NewTemporaryName(string hostName, DateTimeOffset now) => UniquePart(hostName, now) + ".tmp";

    private static string UniquePart(string hostName, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        var micros = (now.UtcTicks % TimeSpan.TicksPerSecond) / 10;
        var counter = Interlocked.Increment(ref s_counter);
        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.M{micros}P{Environment.ProcessId}Q{counter}.{hostName}");
    }

    /// <summary>The host part of a name: '/' and ':' cannot appear in it (the Maildir convention escapes them as octal).</summary>
    public static string SafeHostName(string host) => host.Replace("/", @"\057", StringComparison.Ordinal).Replace(":", @"\072", StringComparison.Ordinal);

    /// <summary>
    /// Parses a file name found in new/ or cur/. Returns false for names this store will not touch: dot files,
    /// names with white space or control characters, an info part other than ":2,".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for every message when a folder is opened, often before tiering kicks in
    public static bool TryParse(string fileName, out MaildirFileName name)
    {
        name = default;
        if (fileName.Length == 0 || fileName[0] == '.' || HasSpaceOrControl(fileName))
        {
            return false;
        }
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            name = new MaildirFileName(fileName, MessageFlags.None, "", false);
            return true;
        }
        if (colon == 0 || string.CompareOrdinal(fileName, colon, InfoPrefix, 0, InfoPrefix.Length) != 0)
        {
            return false;
        }
        var flags = MessageFlags.None;
        var passed = false;
        var keywords = new StringBuilder();
        foreach (var c in fileName.AsSpan(colon + InfoPrefix.Length))
        {
            switch (c)
            {
                case 'D': flags |= MessageFlags.Draft; break;
                case 'F': flags |= MessageFlags.Flagged; break;
                case 'P': passed = true; break;
                case 'R': flags |= MessageFlags.Answered; break;
                case 'S': flags |= MessageFlags.Seen; break;
                case 'T': flags |= MessageFlags.Deleted; break;
                case >= 'a' and <= 'z': keywords.Append(c); break;
                default: break; // other letters belong to other programs; ignored
            }
        }
        name = new MaildirFileName(fileName[..colon], flags, keywords.ToString(), passed);
        return true;
    }

    /// <summary>
    /// The size of the message as served, with CRLF line ends: the ",W=" field (Dovecot writes it for files stored
    /// with LF line ends), if there is one.
    /// </summary>
    public long? WireSizeFromName() => SizeField(",W=");

    // Called for every file of every scan, so a plain loop rather than LINQ.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for every message when a folder is opened, often before tiering kicks in
    private static bool HasSpaceOrControl(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || char.IsControl(c) || (c > '~' && char.IsWhiteSpace(c)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The size in the ",S=" field of a base name (the file's size), if there is one.</summary>
    public long? SizeFromName() => SizeField(",S=");

    private long? SizeField(string key)
    {
        var at = BaseName.IndexOf(key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var end = BaseName.IndexOf(',', at + 3);
        var digits = end < 0 ? BaseName.AsSpan(at + 3) : BaseName.AsSpan(at + 3, end - at - 3);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
    }

    /// <summary>The file name for cur/, with flags and keyword letters in ASCII order.</summary>
    public string ToCurName()
    {
        var info = new StringBuilder(BaseName.Length + 12).Append(BaseName).Append(InfoPrefix);
        if (Flags.HasFlag(MessageFlags.Draft)) { info.Append('D'); }
        if (Flags.HasFlag(MessageFlags.Flagged)) { info.Append('F'); }
        if (Passed) { info.Append('P'); }
        if (Flags.HasFlag(MessageFlags.Answered)) { info.Append('R'); }
        if (Flags.HasFlag(MessageFlags.Seen)) { info.Append('S'); }
        if (Flags.HasFlag(MessageFlags.Deleted)) { info.Append('T'); }
        var letters = KeywordLetters.ToCharArray();
        Array.Sort(letters);
        return info.Append(letters).ToString();
    }
}
