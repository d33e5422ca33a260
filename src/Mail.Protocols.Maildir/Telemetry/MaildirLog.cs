using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir.Telemetry;

// Maildir store and file queue events, ids 5000–5999. Message content never appears.
internal static partial class MaildirLog
{
    [LoggerMessage(5001, LogLevel.Warning, "Index {Path} is unreadable; rebuilt from the Maildir with a new UIDVALIDITY")]
    public static partial void IndexRebuilt(ILogger logger, string path);

    [LoggerMessage(5002, LogLevel.Warning, "Index {Path} is damaged at line {Line}; the rest is rebuilt from the Maildir, UIDVALIDITY kept")]
    public static partial void IndexDamaged(ILogger logger, string path, int line);

    [LoggerMessage(5003, LogLevel.Warning, "Ignoring {Path}: not a Maildir message file name")]
    public static partial void MalformedFileName(ILogger logger, string path);

    [LoggerMessage(5004, LogLevel.Information, "{Folder} of {User}: {Added} message(s) added and {Removed} removed by another program")]
    public static partial void ExternalChanges(ILogger logger, string user, string folder, int added, int removed);

    [LoggerMessage(5006, LogLevel.Information, "{Path}: first indexed with Dovecot's UIDVALIDITY {UidValidity} from dovecot-uidlist; {Adopted} of {Total} message(s) keep Dovecot's UIDs")]
    public static partial void DovecotUidsAdopted(ILogger logger, string path, uint uidValidity, int adopted, int total);

    [LoggerMessage(5005, LogLevel.Information, "Removed {Count} stale file(s) from {Path}")]
    public static partial void StaleTemporaryFilesRemoved(ILogger logger, string path, int count);

    [LoggerMessage(5101, LogLevel.Warning, "Queue entry {QueueId} is unreadable and was moved to {Path}")]
    public static partial void QueueEntryCorrupt(ILogger logger, string queueId, string path, Exception exception);

    [LoggerMessage(5102, LogLevel.Information, "Queue {Path} opened: {Count} entr(y/ies) waiting")]
    public static partial void QueueOpened(ILogger logger, string path, int count);
}
