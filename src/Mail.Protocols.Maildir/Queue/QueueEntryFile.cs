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
    private static readonly JsonSerializerOptions s_json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, s_json);

    /// <summary>Reads a state file; throws <see cref="JsonException"/> when it is not one.</summary>
    public static QueueEntryFile Deserialize(byte[] json) =>
        JsonSerializer.Deserialize<QueueEntryFile>(json, s_json) is { Envelope.Recipients: not null, Recipients: not null } entry
            ? entry
            : throw new JsonException("Incomplete queue entry.");
}
