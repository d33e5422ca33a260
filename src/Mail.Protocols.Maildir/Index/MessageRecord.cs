using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Index;

/// <summary>What the store knows about one message file: its UID and MODSEQ from the index, its flags, and where the file is now.</summary>
internal sealed class MessageRecord(uint uid, string baseName, DateTimeOffset internalDate, long size)
{
    public uint Uid { get; } = uid;

    /// <summary>The unique part of the file name, stable across flag changes and moves between new/ and cur/.</summary>
    public string BaseName { get; } = baseName;

    public DateTimeOffset InternalDate { get; } = internalDate;
    /// <summary>The size as served (RFC822.SIZE), with CRLF line ends.</summary>
    public long Size { get; } = size;

    /// <summary>The size of the file, when known: smaller than <see cref="Size"/> for a file with LF line ends.</summary>
    public long? FileSize { get; set; }

    public MessageFlags Flags
    {
        get;
        set
        {
            field = value;
            _info = null;
        }
    }

    /// <summary>The keywords; an array once set is never changed in place (a change sets a new one).</summary>
    public string[] Keywords
    {
        get;
        set
        {
            field = value;
            _info = null;
        }
    } = [];

    /// <summary>Maildir's P (passed/forwarded) flag, which IMAP has no system flag for; kept so renames do not drop it.</summary>
    public bool Passed { get; set; }

    public ulong ModSeq
    {
        get;
        set
        {
            field = value;
            _info = null;
        }
    }

    /// <summary>The current file name (with its info part) and whether it is in new/ rather than cur/; known after a scan.</summary>
    public string? FileName { get; set; }
    public bool InNew { get; set; }

    public MessageSummary? Summary { get; set; }

    public string PathIn(string folderDirectory) => Path.Combine(folderDirectory, InNew ? "new" : "cur", FileName ?? BaseName);

    private MessageInfo? _info;

    /// <summary>
    /// The message as the store contract shows it, made once and kept until the flags, keywords or MODSEQ change (a
    /// <see cref="MessageInfo"/> is immutable, so one instance serves every listing until then).
    /// </summary>
    public MessageInfo Info => _info ??= new(Uid, Flags, Keywords, InternalDate, Size, ModSeq);
}
