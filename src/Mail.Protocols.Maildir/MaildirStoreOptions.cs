using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir;

/// <summary>Settings of <see cref="MaildirMailboxStore"/>.</summary>
public sealed class MaildirStoreOptions
{
    private UnixFileMode _filePermissions = FilePermissionsCheck.PrivateFile;
    private UnixFileMode _directoryPermissions = FilePermissionsCheck.PrivateDirectory;

    /// <summary>The directory holding one Maildir per user (<c>ROOT/alice@example.test/</c>). Required.</summary>
    public string RootPath { get; set; } = "";

    /// <summary>
    /// Flush message files, directory entries and the index to the disk before an operation completes.
    /// Defaults to true: an accepted message survives a crash or power loss. Turn off only for tests or caches.
    /// </summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// With <see cref="Fsync"/> on, also flush flag and keyword changes and expunges to the disk (the <c>cur/</c> directory
    /// and the folder's index) before the call returns. Defaults to false, which is what Dovecot's default
    /// <c>mail_fsync = optimized</c> does: new mail (append, delivery, copy, move) is always flushed, so a power loss never
    /// loses a message, but it may lose the last flag changes and expunges made before it (a message comes back with its
    /// earlier flags, or comes back after its expunge). A process crash loses nothing either way. Turn it on when those
    /// must survive a power loss too; it costs two flushes per flag change or expunge.
    /// </summary>
    public bool FsyncFlagsAndExpunges { get; set; }

    /// <summary>The host name in new message file names. Defaults to the machine name.</summary>
    public string HostName { get; set; } = Environment.MachineName;

    /// <summary>
    /// How often the open folders of users with subscribers are checked for changes made by other programs
    /// (a message another MDA delivered, a file Dovecot re-flagged), so that subscribers such as IMAP IDLE
    /// sessions hear of them without asking. A check costs two directory stats per folder when nothing changed.
    /// Defaults to 2 seconds; null turns it off (changes are then found at the next store call).
    /// </summary>
    public TimeSpan? ExternalChangePollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many expunged UIDs each folder remembers with their MODSEQ for IMAP QRESYNC (VANISHED), kept in its index through
    /// compaction. Past this the oldest are forgotten and a client asking from before them gets a full resync. Defaults to
    /// <see cref="ExpungedUidLog.DefaultCapacity"/> (10,000: about 20 bytes each in the index file, 16 in memory).
    /// </summary>
    public int ExpungedUidsRemembered { get; set; } = ExpungedUidLog.DefaultCapacity;

    /// <summary>
    /// The permissions of every file the store creates. Defaults to 0600 (read and write for the owner only):
    /// mail no other local user can read. Give the group access (0640 and 0750 for reading, 0660 and 0770 for a Dovecot that also writes) when other programs
    /// read the Maildir as another user of a shared group. Only read, write and execute bits are allowed. The mode is
    /// given when a file is created, so the umask (or a default ACL) can narrow it but never widen it; files and
    /// directories that already exist keep theirs.
    /// </summary>
    public UnixFileMode FilePermissions
    {
        get => _filePermissions;
        set => _filePermissions = FilePermissionsCheck.Valid(value);
    }

    /// <summary>
    /// The permissions of every directory the store creates. Defaults to 0700 (owner only); see
    /// <see cref="FilePermissions"/>.
    /// </summary>
    public UnixFileMode DirectoryPermissions
    {
        get => _directoryPermissions;
        set => _directoryPermissions = FilePermissionsCheck.Valid(value);
    }

    /// <summary>The clock for internal dates and UIDVALIDITY values.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Told the path of each folder directory or index about to be flushed to the disk (tests count them).</summary>
    internal Action<string>? Flushing { get; set; }

    /// <summary>Where warnings about damaged indexes and foreign files go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
