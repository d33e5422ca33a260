using System.Globalization;
using System.Text;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Telemetry;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir.Index;

/// <summary>
/// A folder's index: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and, per message, UID, MODSEQ, internal date, size,
/// flags and keywords. On disk it is an append-only journal ("mailprotocols.index"): a header line, then one
/// line per change, each flushed to the disk before the change is reported. Loading replays the journal; a
/// torn or damaged tail is cut off and UIDNEXT is raised past every UID the lost lines could have given, so
/// no UID is ever reused. Once the journal is mostly history it is compacted: a snapshot is written beside
/// it and renamed over it.
/// </summary>
/// <remarks>
/// Lines: <c>mailprotocols-index 1 UIDVALIDITY SPECIALUSE</c>; <c>N UIDNEXT MODSEQ</c>;
/// <c>A UID MODSEQ DATE-MS SIZE FLAGS PASSED BASENAME [KEYWORD...]</c>; <c>F UID MODSEQ FLAGS PASSED [KEYWORD...]</c>;
/// <c>X UID MODSEQ</c>.
/// </remarks>
internal sealed class FolderIndex : IDisposable
{
    public const string FileName = "mailprotocols.index";
    private const string Magic = "mailprotocols-index";
    private readonly string _path;
    private readonly bool _sync;
    private readonly StringBuilder _pending = new();
    private FileStream _journal;
    private int _records;

    private FolderIndex(string path, bool sync, FileStream journal)
    {
        _path = path;
        _sync = sync;
        _journal = journal;
    }

    public uint UidValidity { get; private set; }
    public SpecialUse SpecialUse { get; private set; }
    public uint UidNext { get; private set; } = 1;
    public ulong HighestModSeq { get; private set; } = 1;
    public SortedDictionary<uint, MessageRecord> ByUid { get; } = [];
    public Dictionary<string, MessageRecord> ByBase { get; } = new(StringComparer.Ordinal);

    /// <summary>True when the journal was damaged or missing and the caller should rewrite it after reconciling with the files.</summary>
    public bool NeedsCompaction { get; private set; }

    /// <summary>Opens (or creates) the index of the folder in <paramref name="directory"/>.</summary>
    public static FolderIndex Open(string directory, SpecialUse specialUseIfNew, Func<uint> newUidValidity, bool sync, ILogger logger)
    {
        var path = Path.Combine(directory, FileName);
        var existing = File.Exists(path) ? File.ReadAllBytes(path) : null;
        var journal = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, 1);
        var index = new FolderIndex(path, sync, journal);
        if (existing is null || !index.Replay(existing, logger))
        {
            if (existing is not null)
            {
                MaildirLog.IndexRebuilt(logger, path);
            }
            index.Reset(newUidValidity(), specialUseIfNew);
        }
        journal.Seek(0, SeekOrigin.End);
        return index;
    }

    // Replays the journal. False when even the header is unusable: the UIDs cannot be trusted at all.
    private bool Replay(byte[] content, ILogger logger)
    {
        var text = Encoding.UTF8.GetString(content);
        var lines = text.Split('\n');
        // The last element is what follows the final newline: empty, or a line torn by a crash.
        var complete = lines.Length - 1;
        if (complete < 1 || !ParseHeader(lines[0]))
        {
            return false;
        }
        for (var i = 1; i < complete; i++)
        {
            if (!Apply(lines[i]))
            {
                // Every line after a damaged one may have given out a UID: skip past all of them.
                var lost = (uint)(complete - i + 1);
                UidNext += lost;
                HighestModSeq += lost;
                NeedsCompaction = true;
                MaildirLog.IndexDamaged(logger, _path, i + 1);
                return true;
            }
            _records++;
        }
        if (lines[^1].Length > 0)
        {
            UidNext++;
            HighestModSeq++;
            NeedsCompaction = true;
        }
        return true;
    }

    private bool ParseHeader(string line)
    {
        var f = line.Split(' ');
        if (f.Length != 4 || f[0] != Magic || f[1] != "1" || !uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var validity)
            || validity == 0 || !int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var use) || !Enum.IsDefined((SpecialUse)use))
        {
            return false;
        }
        UidValidity = validity;
        SpecialUse = (SpecialUse)use;
        return true;
    }

    private bool Apply(string line)
    {
        var f = line.Split(' ');
        try
        {
            switch (f[0])
            {
                case "N" when f.Length == 3:
                    UidNext = Math.Max(UidNext, U32(f[1]));
                    HighestModSeq = Math.Max(HighestModSeq, U64(f[2]));
                    return true;
                case "A" when f.Length >= 8:
                    var uid = U32(f[1]);
                    if (uid == 0 || uid < UidNext && ByUid.ContainsKey(uid) || f[7].Length == 0)
                    {
                        return false;
                    }
                    var record = new MessageRecord(uid, f[7], DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(f[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)), U64Size(f[4]))
                    {
                        ModSeq = U64(f[2]),
                        Flags = (MessageFlags)U32(f[5]),
                        Passed = f[6] == "1",
                        Keywords = f[8..],
                    };
                    if (ByBase.Remove(record.BaseName, out var stale))
                    {
                        ByUid.Remove(stale.Uid);
                    }
                    ByUid[uid] = record;
                    ByBase[record.BaseName] = record;
                    UidNext = Math.Max(UidNext, uid + 1);
                    HighestModSeq = Math.Max(HighestModSeq, record.ModSeq);
                    return true;
                case "F" when f.Length >= 5:
                    if (ByUid.TryGetValue(U32(f[1]), out var changed))
                    {
                        changed.ModSeq = U64(f[2]);
                        changed.Flags = (MessageFlags)U32(f[3]);
                        changed.Passed = f[4] == "1";
                        changed.Keywords = f[5..];
                        HighestModSeq = Math.Max(HighestModSeq, changed.ModSeq);
                    }
                    return true;
                case "X" when f.Length == 3:
                    if (ByUid.Remove(U32(f[1]), out var removed))
                    {
                        ByBase.Remove(removed.BaseName);
                    }
                    HighestModSeq = Math.Max(HighestModSeq, U64(f[2]));
                    return true;
                default:
                    return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    private static uint U32(string s) => uint.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
    private static ulong U64(string s) => ulong.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
    private static long U64Size(string s) => long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);

    private void Reset(uint uidValidity, SpecialUse specialUse)
    {
        UidValidity = uidValidity;
        SpecialUse = specialUse;
        UidNext = 1;
        HighestModSeq = 1;
        ByUid.Clear();
        ByBase.Clear();
        NeedsCompaction = true;
    }

    /// <summary>The next MODSEQ, for a change about to be recorded.</summary>
    public ulong NextModSeq() => ++HighestModSeq;

    /// <summary>Gives a new message its UID and MODSEQ and records it.</summary>
    public MessageRecord Add(string baseName, DateTimeOffset internalDate, long size, MessageFlags flags, bool passed, string[] keywords)
    {
        var record = new MessageRecord(UidNext++, baseName, internalDate, size)
        {
            Flags = flags,
            Passed = passed,
            Keywords = keywords,
            ModSeq = NextModSeq(),
        };
        ByUid[record.Uid] = record;
        ByBase[baseName] = record;
        AppendLine(record);
        return record;
    }

    /// <summary>Records new flags of a message (set on the record by the caller) with a new MODSEQ.</summary>
    public void FlagsChanged(MessageRecord record)
    {
        record.ModSeq = NextModSeq();
        _pending.Append(CultureInfo.InvariantCulture, $"F {record.Uid} {record.ModSeq} {(int)record.Flags} {(record.Passed ? 1 : 0)}");
        AppendKeywords(record.Keywords);
        _records++;
    }

    /// <summary>Removes a message; returns the MODSEQ of the expunge.</summary>
    public ulong Remove(MessageRecord record)
    {
        ByUid.Remove(record.Uid);
        ByBase.Remove(record.BaseName);
        var modSeq = NextModSeq();
        _pending.Append(CultureInfo.InvariantCulture, $"X {record.Uid} {modSeq}\n");
        _records++;
        return modSeq;
    }

    private void AppendLine(MessageRecord r)
    {
        _pending.Append(CultureInfo.InvariantCulture,
            $"A {r.Uid} {r.ModSeq} {r.InternalDate.ToUnixTimeMilliseconds()} {r.Size} {(int)r.Flags} {(r.Passed ? 1 : 0)} {r.BaseName}");
        AppendKeywords(r.Keywords);
        _records++;
    }

    private void AppendKeywords(string[] keywords)
    {
        foreach (var keyword in keywords)
        {
            _pending.Append(' ').Append(keyword);
        }
        _pending.Append('\n');
    }

    /// <summary>Writes the changes recorded since the last commit and flushes them to the disk; compacts a journal that is mostly history.</summary>
    public void Commit()
    {
        if (NeedsCompaction || _records > 1024 && _records > 2 * ByUid.Count)
        {
            Compact();
            return;
        }
        if (_pending.Length == 0)
        {
            return;
        }
        try
        {
            _journal.Write(Encoding.UTF8.GetBytes(_pending.ToString()));
            _journal.Flush(flushToDisk: _sync);
        }
        catch
        {
            // Part of a line may be on disk now; the next commit rewrites the whole index instead of appending to it.
            NeedsCompaction = true;
            throw;
        }
        finally
        {
            _pending.Clear();
        }
    }

    /// <summary>Forgets changes recorded but not committed (the operation failed before its commit).</summary>
    public void DiscardPending() => _pending.Clear();

    // A snapshot of the current state replaces the journal atomically.
    private void Compact()
    {
        var snapshot = new StringBuilder();
        snapshot.Append(CultureInfo.InvariantCulture, $"{Magic} 1 {UidValidity} {(int)SpecialUse}\n");
        snapshot.Append(CultureInfo.InvariantCulture, $"N {UidNext} {HighestModSeq}\n");
        _pending.Clear();
        foreach (var record in ByUid.Values)
        {
            AppendLine(record);
        }
        snapshot.Append(_pending);
        _pending.Clear();
        _journal.Dispose();
        DurableIO.WriteAtomically(_path, Encoding.UTF8.GetBytes(snapshot.ToString()), _sync);
        _journal = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
        _journal.Seek(0, SeekOrigin.End);
        _records = ByUid.Count + 1;
        NeedsCompaction = false;
    }

    public void Dispose() => _journal.Dispose();
}
