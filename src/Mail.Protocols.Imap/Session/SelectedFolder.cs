using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

/// <summary>
/// The selected folder as this session has told its client about it: the UIDs in sequence-number order (one
/// compact array, nothing else per message), UIDVALIDITY, and the HIGHESTMODSEQ reported. Sequence numbers change
/// only when the session reports an EXPUNGE, so between two reports the client's numbers and these agree.
/// </summary>
internal sealed class SelectedFolder
{
    private uint[] _uids;
    private int _count;

    public SelectedFolder(string name, bool readOnly, FolderSnapshot snapshot)
    {
        Name = name;
        ReadOnly = readOnly;
        UidValidity = snapshot.Status.UidValidity;
        UidNext = snapshot.Status.UidNext;
        HighestModSeq = snapshot.Status.HighestModSeq;
        _uids = new uint[Math.Max(16, snapshot.Messages.Count)];
        foreach (var message in snapshot.Messages)
        {
            _uids[_count++] = message.Uid;
        }
    }

    /// <summary>The folder's name.</summary>
    public string Name { get; set; }

    /// <summary>Opened with EXAMINE (or SELECT of a folder that refuses changes).</summary>
    public bool ReadOnly { get; }

    /// <summary>The folder's UIDVALIDITY.</summary>
    public uint UidValidity { get; }

    /// <summary>The UIDNEXT last known.</summary>
    public uint UidNext { get; private set; }

    /// <summary>The highest MODSEQ the client has been told of.</summary>
    public ulong HighestModSeq { get; set; }

    /// <summary>Messages as the client knows them (the last EXISTS).</summary>
    public int Count => _count;

    /// <summary>The largest UID, 0 when empty.</summary>
    public uint LastUid => _count == 0 ? 0 : _uids[_count - 1];

    /// <summary>The UIDs in sequence-number order.</summary>
    public ReadOnlySpan<uint> Uids => _uids.AsSpan(0, _count);

    /// <summary>The UID of sequence number <paramref name="sequence"/> (1-based).</summary>
    public uint UidAt(int sequence) => _uids[sequence - 1];

    /// <summary>The sequence number of <paramref name="uid"/>, or 0 when it is not in the folder.</summary>
    public int SequenceOf(uint uid)
    {
        var index = Uids.BinarySearch(uid);
        return index < 0 ? 0 : index + 1;
    }

    /// <summary>Adds a message that came after all others (UIDs only grow). False when it is already known.</summary>
    public bool Add(uint uid)
    {
        if (uid <= LastUid)
        {
            return false;
        }
        if (_count == _uids.Length)
        {
            Array.Resize(ref _uids, _uids.Length * 2);
        }
        _uids[_count++] = uid;
        UidNext = Math.Max(UidNext, uid + 1);
        return true;
    }

    /// <summary>Removes a message; returns the sequence number it had, or 0 when it was not known.</summary>
    public int Remove(uint uid)
    {
        var sequence = SequenceOf(uid);
        if (sequence == 0)
        {
            return 0;
        }
        Array.Copy(_uids, sequence, _uids, sequence - 1, _count - sequence);
        _count--;
        return sequence;
    }
}
