using System.Globalization;
using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Index;

/// <summary>
/// The MIME summaries (envelope, body structure, offsets) of a folder's messages, computed once and kept in
/// "mailprotocols.summaries" beside the index so a restart does not parse every message again for IMAP.
/// One line per message, <c>UID JSON</c>, after a header naming the format's version and the folder's UIDVALIDITY;
/// a cache only, so it is not flushed to the disk, a damaged line (torn, or JSON that is no sound summary of the message:
/// see IsSound) is skipped and a file of another version or
/// UIDVALIDITY is started afresh, except version 3, whose summaries lack only the header octets (see <see cref="Magic"/>).
/// </summary>
internal sealed class SummaryCache(string directory, uint uidValidity, UnixFileMode permissions)
{
    public const string FileName = "mailprotocols.summaries";
    // The format's version: raised whenever MessageSummary or MessageSummaryParser changes what a summary holds, so a
    // cache of an older version is started afresh instead of read as if it were current (2: header values as in the
    // message, the message's header end and an embedded message's header end; 3: header octets that are not UTF-8
    // kept as EscapedOctets instead of read as Latin-1, and written as {"octets": base64}; 4: the header's octets,
    // MessageSummary.Header, as base64). A version 3 file is upgraded, not started afresh: its summaries are still right
    // and are read, the file rewritten under version 4, and the store fills in each header from the message's first
    // octets when it is first asked for (Replace), without parsing the message again.
    internal const string Magic = "mailprotocols-summaries 4";
    private const string UpgradableMagic = "mailprotocols-summaries 3";
    private readonly string _path = Path.Combine(directory, FileName);
    private Dictionary<uint, MessageSummary>? _summaries;

    public bool TryGet(uint uid, IReadOnlyDictionary<uint, MessageRecord> live, out MessageSummary summary)
    {
        Load(live);
        return _summaries!.TryGetValue(uid, out summary!);
    }

    public void Add(uint uid, MessageSummary summary)
    {
        if (_summaries is null || !_summaries.TryAdd(uid, summary))
        {
            return;
        }
        using var file = Durability.DurableIO.Open(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, permissions);
        file.Write(Encoding.UTF8.GetBytes(Line(uid, summary)));
    }

    /// <summary>Records a summary that replaces the one known (a version 3 summary now with its header); the later line wins on reading.</summary>
    public void Replace(uint uid, MessageSummary summary)
    {
        if (_summaries is null)
        {
            return;
        }
        _summaries[uid] = summary;
        using var file = Durability.DurableIO.Open(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, permissions);
        file.Write(Encoding.UTF8.GetBytes(Line(uid, summary)));
    }

    private static string Line(uint uid, MessageSummary summary) =>
        string.Create(CultureInfo.InvariantCulture, $"{uid} {MessageSummaryJson.Serialize(summary)}\n");

    // Reads the file once; drops summaries of expunged messages by rewriting it when they are the majority.
    private void Load(IReadOnlyDictionary<uint, MessageRecord> live)
    {
        if (_summaries is not null)
        {
            return;
        }
        _summaries = [];
        var header = $"{Magic} {uidValidity}";
        var lines = File.Exists(_path) ? File.ReadAllLines(_path) : [];
        var upgrade = lines.Length > 0 && lines[0] == $"{UpgradableMagic} {uidValidity}";
        if (lines.Length == 0 || (lines[0] != header && !upgrade))
        {
            using var file = Durability.DurableIO.Open(_path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, permissions);
            file.Write(Encoding.UTF8.GetBytes(header + "\n"));
            return;
        }
        var dead = 0;
        foreach (var line in lines.AsSpan(1))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !uint.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                continue;
            }
            if (!live.TryGetValue(uid, out var record))
            {
                dead++;
                continue;
            }
            // A torn or damaged line is skipped: that message is parsed again when asked for.
            if (MessageSummaryJson.TryDeserialize(line.AsSpan(space + 1), record.Size, out var summary))
            {
                // A later line replaces an earlier one (Replace), which is then dead weight in the file.
                dead += _summaries.ContainsKey(uid) ? 1 : 0;
                _summaries[uid] = summary;
            }
        }
        if (upgrade || (dead > 64 && dead > _summaries.Count))
        {
            var text = new StringBuilder(header).Append('\n');
            foreach (var (uid, summary) in _summaries)
            {
                text.Append(Line(uid, summary));
            }
            Durability.DurableIO.WriteAtomically(_path, Encoding.UTF8.GetBytes(text.ToString()), sync: false, permissions);
        }
    }
}
