using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir.Queue;

/// <summary>Settings of <see cref="FileMessageQueue"/>.</summary>
public sealed class FileMessageQueueOptions
{
    /// <summary>The queue directory (created if missing). Required.</summary>
    public string Path { get; set; } = "";

    /// <summary>Flush content, envelope and directory entries to the disk before an operation completes. Defaults to true.</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>The clock for schedules and leases.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>How long an operation waits for another process holding the queue lock. Defaults to 30 seconds.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where warnings go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
