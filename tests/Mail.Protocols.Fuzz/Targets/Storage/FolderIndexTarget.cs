using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// A folder's index journal, "mailprotocols.index" (<see cref="FolderIndex.Open"/>), as a crash, a full disk or another hand
/// may leave it. Properties: opening never throws; a journal whose header is unusable is rebuilt (the new UIDVALIDITY, no
/// messages); otherwise every record is in range: a UID from 1 to 4294967294 below UIDNEXT (so no UID is given twice), a
/// MODSEQ at most HIGHESTMODSEQ, which stays within IMAP's 63 bits (RFC 7162 mod-sequence-value), flags of the five
/// defined, keywords that are IMAP atoms, a base name a Maildir file could have (no ':', '/', space or control), a size
/// not negative; the UID and base-name maps agree; remembered expunges are in MODSEQ order above the forgotten ones and
/// within the capacity. Committing (a compaction, when the journal was damaged) and opening again gives the same state.
/// </summary>
internal sealed class FolderIndexTarget : IFuzzTarget
{
    private const uint NewUidValidity = 4242;
    private const int ExpungedCapacity = 16;
    private const UnixFileMode Permissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Name => "FolderIndex";

    public void Run(ReadOnlySpan<byte> input)
    {
        var directory = ScratchDirectory.Fresh(Name);
        File.WriteAllBytes(Path.Combine(directory, FolderIndex.FileName), input.ToArray());
        string first;
        using (var index = Open(directory))
        {
            Check(index);
            // (A journal may name UIDVALIDITY 4242 itself; then it was not rebuilt.)
            if (index.UidValidity == NewUidValidity && input.Length > 0 && !input.StartsWith("mailprotocols-index 1 4242 "u8))
            {
                Fuzz.Check(index.ByUid.Count == 0 && index.NeedsCompaction, "a rebuilt index is not empty and to be compacted");
            }

            first = State(index);
            index.Commit();
        }

        using var again = Open(directory);
        Check(again);
        Fuzz.Equal(first, State(again), "the state after a commit and a new open");
    }

    private static FolderIndex Open(string directory) =>
        FolderIndex.Open(directory, SpecialUse.None, () => NewUidValidity, sync: false, Permissions, NullLogger.Instance, ExpungedCapacity);

    private static void Check(FolderIndex index)
    {
        Fuzz.Check(index.UidValidity != 0, "UIDVALIDITY 0");
        Fuzz.Check(index.UidNext is > 0 and < uint.MaxValue, $"UIDNEXT {index.UidNext} cannot be given");
        Fuzz.Check(index.HighestModSeq is > 0 and <= long.MaxValue, $"HIGHESTMODSEQ {index.HighestModSeq} is not a 63-bit MODSEQ");
        Fuzz.Equal(index.ByUid.Count, index.ByBase.Count, "records by UID and by base name");
        Fuzz.Equal(index.ByUid.Count, index.Messages.Count, "records and messages listed");
        foreach (var (uid, record) in index.ByUid)
        {
            Fuzz.Check(record.Uid == uid && uid is > 0 and < uint.MaxValue, $"UID {uid}");
            Fuzz.Check(uid < index.UidNext, $"UID {uid} is not below UIDNEXT {index.UidNext}");
            Fuzz.Check(record.ModSeq <= index.HighestModSeq, $"UID {uid} has MODSEQ {record.ModSeq} above HIGHESTMODSEQ {index.HighestModSeq}");
            Fuzz.Check(((int)record.Flags & ~0x1F) == 0, $"UID {uid} has undefined flags {(int)record.Flags}");
            Fuzz.Check(record.Size >= 0, $"UID {uid} has size {record.Size}");
            Fuzz.Check(record.Keywords.All(MessageKeywords.IsValid), $"UID {uid} has a keyword that is no IMAP atom");
            Fuzz.Check(index.ByBase.TryGetValue(record.BaseName, out var same) && ReferenceEquals(same, record), $"UID {uid} is not found by its base name");
            Fuzz.Check(!record.BaseName.Contains('/', StringComparison.Ordinal) && MaildirFileName.TryParse(record.BaseName, out var name) && name.BaseName == record.BaseName,
                $"UID {uid} has the base name \"{record.BaseName}\", which no Maildir file has");
        }

        var expunged = index.Expunged;
        Fuzz.Check(expunged.Entries.Count <= expunged.Capacity, "more remembered expunges than the capacity");
        ulong previous = 0;
        foreach (var (uid, modSeq) in expunged.Entries)
        {
            Fuzz.Check(modSeq >= previous && modSeq > expunged.RememberedAfter && modSeq <= index.HighestModSeq, $"the expunge of {uid} at MODSEQ {modSeq} is out of order or range");
            previous = modSeq;
        }
    }

    private static string State(FolderIndex index) =>
        $"{index.UidValidity} {index.SpecialUse} {index.UidNext} {index.HighestModSeq} | "
        + string.Join("; ", index.ByUid.Values.Select(r => $"{r.Uid} {r.ModSeq} {r.InternalDate.ToUnixTimeMilliseconds()} {r.Size} {(int)r.Flags} {r.Passed} {r.BaseName} [{string.Join(' ', r.Keywords)}]"))
        + $" | expunged after {index.Expunged.RememberedAfter}: " + string.Join(' ', index.Expunged.Entries.Select(e => $"{e.Uid}@{e.ModSeq}"));
}
