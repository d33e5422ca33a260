using Mail.Protocols.Maildir.Layout;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// Dovecot's dovecot-uidlist (<see cref="DovecotUidList.Parse"/>), read when this store first indexes a folder Dovecot served.
/// Properties: nothing throws; a list taken has a UIDVALIDITY other than 0, UIDs from 1 to 4294967294 each given to one base
/// name at most, base names that are not empty and hold no ":2," info part, and a next UID above every UID listed and below
/// 4294967295, so that the folder can still number a new message.
/// </summary>
internal sealed class DovecotUidListTarget : IFuzzTarget
{
    public string Name => "DovecotUidList";

    public void Run(ReadOnlySpan<byte> input)
    {
        var lines = ScratchDirectory.Lines(input);
        if (DovecotUidList.Parse(lines) is not { } list)
        {
            return;
        }

        Fuzz.Check(list.UidValidity != 0, "UIDVALIDITY 0");
        Fuzz.Check(list.NextUid is > 0 and < uint.MaxValue, $"next UID {list.NextUid} cannot be given");
        Fuzz.Check(list.UidsByBaseName.Count <= lines.Count, "more UIDs than lines");
        var uids = new HashSet<uint>();
        foreach (var (baseName, uid) in list.UidsByBaseName)
        {
            Fuzz.Check(baseName.Length > 0 && !baseName.Contains(":2,", StringComparison.Ordinal), $"base name \"{baseName}\"");
            Fuzz.Check(uid is > 0 and < uint.MaxValue, $"UID {uid}");
            Fuzz.Check(uid < list.NextUid, $"UID {uid} is not below the next UID {list.NextUid}");
            Fuzz.Check(uids.Add(uid), $"UID {uid} is given to two files");
        }
    }
}
