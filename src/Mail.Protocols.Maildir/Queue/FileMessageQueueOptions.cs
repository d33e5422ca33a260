using Mail.Protocols.Maildir.Durability;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir.Queue;

/// <summary>Settings of <see cref="FileMessageQueue"/>.</summary>
public sealed class FileMessageQueueOptions
{
    private UnixFileMode _filePermissions = FilePermissionsCheck.PrivateFile;
    private UnixFileMode _directoryPermissions = FilePermissionsCheck.PrivateDirectory;

    /// <summary>The queue directory (created if missing). Required.</summary>
    public string Path { get; set; } = "";

    /// <summary>Flush content, envelope and directory entries to the disk before an operation completes. Defaults to true.</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// The permissions of every file the queue creates. Defaults to 0600 (read and write for the owner only):
    /// queued mail and envelopes are something no other local user can read. Give the group access (0640 and 0750) when other programs
    /// read the queue as another user of a shared group. Only read, write and execute bits are allowed. The mode is
    /// given when a file is created, so the umask (or a default ACL) can narrow it but never widen it; files and
    /// directories that already exist keep theirs.
    /// </summary>
    public UnixFileMode FilePermissions
    {
        get => _filePermissions;
        set => _filePermissions = FilePermissionsCheck.Valid(value);
    }

    /// <summary>
    /// The permissions of every directory the queue creates. Defaults to 0700 (owner only); see
    /// <see cref="FilePermissions"/>.
    /// </summary>
    public UnixFileMode DirectoryPermissions
    {
        get => _directoryPermissions;
        set => _directoryPermissions = FilePermissionsCheck.Valid(value);
    }

    /// <summary>The clock for schedules and leases.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>How long an operation waits for another process holding the queue lock. Defaults to 30 seconds.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where warnings go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
