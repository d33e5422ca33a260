using System.Text.Json;
using System.Text.Json.Serialization;
using Mail.Protocols.Queue;

namespace Mail.Protocols.Maildir.Queue;

/// <summary>
/// The state of one queue entry as stored in env/ID.json: the envelope, per-recipient results, the schedule
/// and the current lease. Replaced whole (write beside, rename over) at every change.
/// </summary>
internal sealed record QueueEntryFile(
    QueueEnvelope Envelope,
    IReadOnlyList<RecipientStatus> Recipients,
    int Attempts,
    DateTimeOffset NextAttempt,
    string? LeaseToken,
    DateTimeOffset LeaseExpires)
{
    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, QueueEntryJson.Default.QueueEntryFile);

    /// <summary>
    /// Reads a state file; throws <see cref="JsonException"/> when it is not one: also when JSON that parses leaves a null
    /// where the entry has none (reverse path, a recipient, its address, a status), or a number no value of its enum has
    /// (JSON may give an enum as a number), or a negative attempt count. The delivery agent uses an entry without checking.
    /// </summary>
    public static QueueEntryFile Deserialize(byte[] json) =>
        JsonSerializer.Deserialize(json, QueueEntryJson.Default.QueueEntryFile) is { } entry && IsWhole(entry)
            ? entry
            : throw new JsonException("Incomplete queue entry.");

    private static bool IsWhole(QueueEntryFile entry) =>
        entry is { Envelope: { ReversePath: not null, Recipients: not null } envelope, Recipients: not null, Attempts: >= 0 }
        && Enum.IsDefined(envelope.Return) && Enum.IsDefined(envelope.Body)
        && envelope.Recipients.All(IsWhole)
        && entry.Recipients.All(status => status is not null && IsWhole(status.Recipient) && Enum.IsDefined(status.State));

    private static bool IsWhole(QueueRecipient? recipient) =>
        recipient is { Address: not null } && (recipient.Notify & ~(DsnNotify.Never | DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay)) == 0;
}

/// <summary>
/// The queue entry's JSON, generated at build time (no reflection, so the store runs trimmed and under Native AOT): enums
/// by name (a flags value as "Success, Failure"), nulls left out. The format is the one the reflection-based serializer
/// wrote, so entries queued by an earlier version read the same.
/// </summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(QueueEntryFile))]
internal sealed partial class QueueEntryJson : JsonSerializerContext;
