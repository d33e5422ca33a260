using System.Collections.Immutable;
using System.Runtime.CompilerServices;
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
/// <c>X UID MODSEQ</c>. A compacted snapshot keeps the remembered expunges (<see cref="Expunged"/>) as X lines of UIDs no
/// longer there, after <c>X 0 MODSEQ</c>: expunges up to that MODSEQ are forgotten (without that line, those up to the first N
/// line's MODSEQ, as in a snapshot of an older version, which kept none). Older readers take both for expunges of UIDs they do not have.
/// </remarks>
internal sealed class FolderIndex : IDisposable
{
    public const string FileName = "mailprotocols.index";
    private const string Magic = "mailprotocols-index";
    private readonly string _path;
    private readonly bool _sync;
    private readonly Action<string>? _flushing;
    private readonly UnixFileMode _permissions;
    private readonly StringBuilder _pending = new();
    private FileStream _journal;
    private int _records;
    private uint _lastAdopted;
    private readonly int _expungedCapacity;
    private bool _sawHeaderModSeq;

    private FolderIndex(string path, bool sync, UnixFileMode permissions, FileStream journal, int expungedCapacity, Action<string>? flushing)
    {
        _path = path;
        _sync = sync;
        _flushing = flushing;
        _permissions = permissions;
        _journal = journal;
        _expungedCapacity = expungedCapacity;
        Expunged = new ExpungedUidLog(1, expungedCapacity);
    }

    /// <summary>The expunges remembered for QRESYNC, kept through compaction (bounded).</summary>
    public ExpungedUidLog Expunged { get; private set; }

    public uint UidValidity { get; private set; }
    public SpecialUse SpecialUse { get; private set; }
    public uint UidNext { get; private set; } = 1;
    public ulong HighestModSeq { get; private set; } = 1;
    /// <summary>The messages by UID. Change it only through <see cref="Add"/>, <see cref="Remove"/> and <see cref="Discard"/>, and a
    /// record's flags only followed by <see cref="FlagsChanged"/>: they keep <see cref="Messages"/> true.</summary>
    public SortedDictionary<uint, MessageRecord> ByUid { get; } = [];
    public Dictionary<string, MessageRecord> ByBase { get; } = new(StringComparer.Ordinal);

    // The boxed ImmutableArray, so that every caller gets the same instance (and nobody can change it through a cast).
    private IReadOnlyList<MessageInfo>? _messages;

    /// <summary>
    /// Every message's <see cref="MessageInfo"/> in ascending UID order, as one immutable list: built on the first call after a
    /// change (from the records' own cached infos, so only changed messages get a new one) and then handed out as it is, to
    /// every caller, until the next change: listing an unchanged folder copies nothing, however large. The price is memory: the
    /// list and an info per message stay allocated while the folder is open (about 70 bytes per message: a 64-byte info and its slot).
    /// </summary>
    public IReadOnlyList<MessageInfo> Messages
    {
        get
        {
            if (_messages is null)
            {
                var builder = ImmutableArray.CreateBuilder<MessageInfo>(ByUid.Count);
                foreach (var record in ByUid.Values)
                {
                    builder.Add(record.Info);
                }
                _messages = builder.MoveToImmutable();
            }
            return _messages;
        }
    }

    /// <summary>True when the journal was damaged or missing and the caller should rewrite it after reconciling with the files.</summary>
    public bool NeedsCompaction { get; private set; }

    /// <summary>True when this store had never indexed the folder (no journal existed), as opposed to one rebuilt after damage.</summary>
    public bool IsFirstIndexing { get; private set; }

    /// <summary>Opens (or creates) the index of the folder in <paramref name="directory"/>.</summary>
    public static FolderIndex Open(string directory, SpecialUse specialUseIfNew, Func<uint> newUidValidity, bool sync, UnixFileMode permissions, ILogger logger,
        int expungedCapacity = ExpungedUidLog.DefaultCapacity, Action<string>? flushing = null)
    {
        var path = Path.Combine(directory, FileName);
        // An empty journal is one whose first indexing never finished (the first write is a whole snapshot,
        // renamed into place): nothing was recorded, so it counts as never indexed, not as damaged.
        var existed = new FileInfo(path) is { Exists: true, Length: > 0 };
        var journal = DurableIO.Open(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, permissions);
        var index = new FolderIndex(path, sync, permissions, journal, expungedCapacity, flushing) { IsFirstIndexing = !existed };
        if (!existed || !index.Replay(logger))
        {
            if (existed)
            {
                MaildirLog.IndexRebuilt(logger, path);
            }
            index.Reset(newUidValidity(), specialUseIfNew);
        }
        journal.Seek(0, SeekOrigin.End);
        return index;
    }

    // Replays the journal. False when even the header is unusable, or the UIDs could not go on (UIDNEXT would pass
    // 4294967294, MODSEQ IMAP's 63 bits): the UIDs cannot be trusted at all, and the folder is numbered afresh.
    // Line by line, so a large index costs small short-lived strings rather than one huge one.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for every message when a folder is opened, often before tiering kicks in
    private bool Replay(ILogger logger)
    {
        using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024);
        // A last line without its newline was torn by a crash.
        var torn = file.Length > 0 && LastByte(file) != '\n';
        using var reader = new StreamReader(file, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, 64 * 1024);
        if (reader.ReadLine() is not { } header || !ParseHeader(header))
        {
            return false;
        }
        var lineNumber = 1;
        var line = reader.ReadLine();
        while (line is not null)
        {
            var next = reader.ReadLine();
            lineNumber++;
            if (next is null && torn)
            {
                // The torn line may have given out a UID that was never reported; skip past it.
                NeedsCompaction = true;
                return SkipLost(1);
            }
            if (!Apply(line))
            {
                // Every line from the damaged one on may have given out a UID: skip past all of them.
                ulong lost = 2;
                while (reader.ReadLine() is not null)
                {
                    lost++;
                }
                NeedsCompaction = true;
                MaildirLog.IndexDamaged(logger, _path, lineNumber);
                return SkipLost(lost);
            }
            _records++;
            line = next;
        }
        return UidNext < uint.MaxValue;
    }

    // Raises UIDNEXT and HIGHESTMODSEQ past what lost lines may have given out; false when they would leave their ranges
    // (a UID above 4294967294, so none could follow; a MODSEQ past 63 bits, RFC 7162's mod-sequence-value), or when the
    // snapshot's N line itself is lost: its UIDNEXT may be far above anything the lines left could tell.
    private bool SkipLost(ulong lost)
    {
        if (!_sawHeaderModSeq || UidNext + lost >= uint.MaxValue || HighestModSeq + lost > MaxModSeq)
        {
            return false;
        }
        UidNext += (uint)lost;
        HighestModSeq += lost;
        Expunged.ForgetThrough(HighestModSeq); // a lost line may have been an expunge
        return true;
    }

    // RFC 7162 §7: mod-sequence-value is a positive unsigned 63-bit integer.
    private const ulong MaxModSeq = long.MaxValue;

    // Every date a line can hold, in Unix milliseconds (DateTimeOffset.MinValue to MaxValue).
    private const long MinDateMs = -62_135_596_800_000;
    private const long MaxDateMs = 253_402_300_799_999;

    // The five system flags' bits.
    private const uint AllFlags = 0x1F;

    private static int LastByte(FileStream file)
    {
        file.Seek(-1, SeekOrigin.End);
        var last = file.ReadByte();
        file.Seek(0, SeekOrigin.Begin);
        return last;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for every message when a folder is opened, often before tiering kicks in
    private bool Apply(ReadOnlySpan<char> line)
    {
        _messages = null;
        // Up to eight fixed fields; the ninth range holds the keywords, space-separated, if any.
        Span<Range> f = stackalloc Range[9];
        var count = line.Split(f, ' ');
        if (count == 0 || line[f[0]].Length != 1)
        {
            return false;
        }
        var kind = line[f[0]][0];
        switch (kind)
        {
            case 'N' when count == 3:
                if (!TryU32(line[f[1]], out var uidNext) || !TryModSeq(line[f[2]], out var nModSeq))
                {
                    return false;
                }
                UidNext = Math.Max(UidNext, uidNext);
                HighestModSeq = Math.Max(HighestModSeq, nModSeq);
                if (!_sawHeaderModSeq)
                {
                    // A snapshot keeps no expunges from before it, unless an "X 0" line right after says how far back it does.
                    _sawHeaderModSeq = true;
                    Expunged = new ExpungedUidLog(nModSeq, _expungedCapacity);
                }
                return true;
            case 'A' when count >= 8:
                if (!TryU32(line[f[1]], out var uid) || uid is 0 or uint.MaxValue || ByUid.ContainsKey(uid) || !TryModSeq(line[f[2]], out var modSeq)
                    || !long.TryParse(line[f[3]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var dateMs) || dateMs is < MinDateMs or > MaxDateMs
                    || !long.TryParse(line[f[4]], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                    || !TryFlags(line[f[5]], out var flags) || !IsBaseName(line[f[7]]))
                {
                    return false;
                }
                var keywords = count == 9 ? ValidKeywords(line[f[8]]) : [];
                var record = new MessageRecord(uid, line[f[7]].ToString(), DateTimeOffset.FromUnixTimeMilliseconds(dateMs), size)
                {
                    ModSeq = modSeq,
                    Flags = (MessageFlags)flags,
                    Passed = line[f[6]] is "1",
                    Keywords = keywords,
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
            case 'F' when count >= 5:
                if (!TryU32(line[f[1]], out var changedUid) || !TryModSeq(line[f[2]], out var changedModSeq) || !TryFlags(line[f[3]], out var newFlags))
                {
                    return false;
                }
                // F lines have five fixed fields, so keywords start at the sixth range.
                var newKeywords = count > 5 ? ValidKeywords(line[f[5].Start..]) : [];
                if (ByUid.TryGetValue(changedUid, out var changed))
                {
                    changed.ModSeq = changedModSeq;
                    changed.Flags = (MessageFlags)newFlags;
                    changed.Passed = line[f[4]] is "1";
                    changed.Keywords = newKeywords;
                }
                HighestModSeq = Math.Max(HighestModSeq, changedModSeq);
                return true;
            case 'X' when count == 3:
                if (!TryU32(line[f[1]], out var removedUid) || !TryModSeq(line[f[2]], out var removedModSeq))
                {
                    return false;
                }
                if (removedUid == 0)
                {
                    if (Expunged.Entries.Count == 0)
                    {
                        Expunged = new ExpungedUidLog(removedModSeq, _expungedCapacity);
                    }
                    _records--; // part of a snapshot, not history that calls for compaction
                    return true;
                }
                if (ByUid.Remove(removedUid, out var removed))
                {
                    ByBase.Remove(removed.BaseName);
                }
                else
                {
                    _records--; // a remembered expunge of a snapshot, likewise
                }
                HighestModSeq = Math.Max(HighestModSeq, removedModSeq);
                if (removedModSeq > Expunged.RememberedAfter && (Expunged.Entries.Count == 0 || removedModSeq >= Expunged.Entries[^1].ModSeq))
                {
                    Expunged.Add(removedUid, removedModSeq);
                }
                return true;
            default:
                return false;
        }
    }

    private static bool TryU32(ReadOnlySpan<char> s, out uint value) => uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    private static bool TryModSeq(ReadOnlySpan<char> s, out ulong value) =>
        ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= MaxModSeq;

    // The keywords of a line, leaving out any that is no IMAP atom (IMAP could not send it): a journal from a version
    // that let one in loses that keyword, not the line and every line after it, as damage would.
    private static string[] ValidKeywords(ReadOnlySpan<char> s)
    {
        var keywords = s.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return keywords.All(MessageKeywords.IsValid) ? keywords : keywords.Where(MessageKeywords.IsValid).ToArray();
    }

    private static bool TryFlags(ReadOnlySpan<char> s, out uint value) => TryU32(s, out value) && (value & ~AllFlags) == 0;

    // The base of a Maildir file name as this store takes one from new/ or cur/ (MaildirFileName): not empty, no ':' (the
    // info part), '/', white space or control character, not a dot file. A line naming another is damage, not a message.
    private static bool IsBaseName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name[0] == '.' || name.ContainsAny(':', '/'))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c <= ' ' || char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }
        return true;
    }

    private void Reset(uint uidValidity, SpecialUse specialUse)
    {
        UidValidity = uidValidity;
        SpecialUse = specialUse;
        UidNext = 1;
        HighestModSeq = 1;
        ByUid.Clear();
        ByBase.Clear();
        _messages = null;
        Expunged = new ExpungedUidLog(HighestModSeq, _expungedCapacity);
        NeedsCompaction = true;
    }

    /// <summary>
    /// Takes over another server's UIDVALIDITY and next UID for a folder indexed for the first time (see
    /// <see cref="Layout.DovecotUidList"/>); its messages are then added with their UIDs by <see cref="Add"/>.
    /// </summary>
    public void Adopt(uint uidValidity, uint uidNext)
    {
        if (!IsFirstIndexing || ByUid.Count > 0)
        {
            throw new InvalidOperationException("UIDs can be adopted only into a new, empty index.");
        }
        UidValidity = uidValidity;
        UidNext = Math.Max(1, uidNext);
        NeedsCompaction = true;
    }

    /// <summary>Changes the folder's special use; the next <see cref="Commit"/> writes it (it is in the header, so by a compaction).</summary>
    public void SetSpecialUse(SpecialUse specialUse)
    {
        if (SpecialUse != specialUse)
        {
            SpecialUse = specialUse;
            NeedsCompaction = true;
        }
    }

    /// <summary>The next MODSEQ, for a change about to be recorded.</summary>
    public ulong NextModSeq() => ++HighestModSeq;

    /// <summary>
    /// Gives a new message its UID (the next one, or <paramref name="adoptedUid"/> when taking over another server's
    /// UIDs, which must come in ascending order) and MODSEQ, and records it.
    /// </summary>
    public MessageRecord Add(string baseName, DateTimeOffset internalDate, long size, MessageFlags flags, bool passed, string[] keywords, uint? adoptedUid = null)
    {
        var uid = UidNext;
        if (adoptedUid is { } adopted)
        {
            if (adopted <= _lastAdopted)
            {
                throw new ArgumentOutOfRangeException(nameof(adoptedUid), adopted, "Adopted UIDs must be above every UID given.");
            }
            uid = adopted;
            _lastAdopted = adopted;
        }
        if (uid == uint.MaxValue)
        {
            // No UID is left (4294967295 would leave UIDNEXT unwritable, and the index reads such a line as damage): the
            // message is refused, and the next open of the folder, finding UIDNEXT 4294967295, numbers it afresh under a
            // new UIDVALIDITY (RFC 9051 2.3.1.1). Only a UIDNEXT adopted from a dovecot-uidlist gets here in practice.
            throw new MailboxStoreException(MailboxStoreError.Unavailable, "The folder has no UID left; it is numbered afresh when next opened.");
        }
        UidNext = Math.Max(UidNext, uid + 1);
        var record = new MessageRecord(uid, baseName, internalDate, size)
        {
            Flags = flags,
            Passed = passed,
            Keywords = keywords,
            ModSeq = NextModSeq(),
        };
        ByUid[record.Uid] = record;
        ByBase[baseName] = record;
        _messages = null;
        AppendLine(record);
        return record;
    }

    /// <summary>Takes back a message <see cref="Add"/> recorded whose delivery then failed (its line is still to be committed, or
    /// the commit failed and the next one compacts).</summary>
    public void Discard(string baseName)
    {
        if (ByBase.Remove(baseName, out var record))
        {
            ByUid.Remove(record.Uid);
            _messages = null;
        }
    }

    /// <summary>Records new flags of a message (set on the record by the caller) with a new MODSEQ.</summary>
    public void FlagsChanged(MessageRecord record)
    {
        record.ModSeq = NextModSeq();
        _messages = null;
        _pending.Append(CultureInfo.InvariantCulture, $"F {record.Uid} {record.ModSeq} {FlagBits(record.Flags)} {(record.Passed ? 1 : 0)}");
        AppendKeywords(record.Keywords);
        _records++;
    }

    /// <summary>Removes a message; returns the MODSEQ of the expunge.</summary>
    public ulong Remove(MessageRecord record)
    {
        ByUid.Remove(record.Uid);
        ByBase.Remove(record.BaseName);
        _messages = null;
        var modSeq = NextModSeq();
        Expunged.Add(record.Uid, modSeq);
        _pending.Append(CultureInfo.InvariantCulture, $"X {record.Uid} {modSeq}\n");
        _records++;
        return modSeq;
    }

    private void AppendLine(MessageRecord r)
    {
        _pending.Append(CultureInfo.InvariantCulture,
            $"A {r.Uid} {r.ModSeq} {r.InternalDate.ToUnixTimeMilliseconds()} {r.Size} {FlagBits(r.Flags)} {(r.Passed ? 1 : 0)} {r.BaseName}");
        AppendKeywords(r.Keywords);
        _records++;
    }

    // Only the five system flags are written: a bit beyond them (a caller's cast) would make the reader take the line
    // for damage.
    private static uint FlagBits(MessageFlags flags) => (uint)flags & AllFlags;

    private void AppendKeywords(string[] keywords)
    {
        foreach (var keyword in keywords)
        {
            _pending.Append(' ').Append(keyword);
        }
        _pending.Append('\n');
    }

    /// <summary>
    /// Writes the changes recorded since the last commit and, when the index syncs and <paramref name="flushToDisk"/> is
    /// true, flushes them to the disk; compacts a journal that is mostly history. Lines written without a flush go to the
    /// disk with the next flushed commit (the flush covers the whole file) or when the kernel writes them; a power loss
    /// before that loses them (a torn last line is cut off when the index is read).
    /// </summary>
    public void Commit(bool flushToDisk = true)
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
            var flush = _sync && flushToDisk;
            if (flush)
            {
                _flushing?.Invoke(_path);
            }
            _journal.Flush(flushToDisk: flush);
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

    // A snapshot of the current state replaces the journal atomically.
    private void Compact()
    {
        var snapshot = new StringBuilder();
        snapshot.Append(CultureInfo.InvariantCulture, $"{Magic} 1 {UidValidity} {(int)SpecialUse}\n");
        snapshot.Append(CultureInfo.InvariantCulture, $"N {UidNext} {HighestModSeq}\n");
        // The remembered expunges survive compaction (bounded by the log's capacity), for QRESYNC VANISHED.
        snapshot.Append(CultureInfo.InvariantCulture, $"X 0 {Expunged.RememberedAfter}\n");
        foreach (var (uid, modSeq) in Expunged.Entries)
        {
            snapshot.Append(CultureInfo.InvariantCulture, $"X {uid} {modSeq}\n");
        }
        _pending.Clear();
        foreach (var record in ByUid.Values)
        {
            AppendLine(record);
        }
        snapshot.Append(_pending);
        _pending.Clear();
        _journal.Dispose();
        try
        {
            // Flushed whenever the index syncs, whatever the commit asked: a snapshot renamed over the journal before
            // its content reached the disk could leave an empty index after a power loss, and every UID with it.
            if (_sync)
            {
                _flushing?.Invoke(_path);
            }
            DurableIO.WriteAtomically(_path, Encoding.UTF8.GetBytes(snapshot.ToString()), _sync, _permissions);
            _records = ByUid.Count + 1;
            NeedsCompaction = false;
        }
        finally
        {
            // The new snapshot, or (if writing it failed, say on a full disk) the old journal, still to be compacted.
            _journal = DurableIO.Open(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, _permissions);
            _journal.Seek(0, SeekOrigin.End);
        }
    }

    public void Dispose() => _journal.Dispose();
}
