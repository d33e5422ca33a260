using System.Text.Json;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;

namespace Mail.Protocols.Fuzz.Targets.Queue;

/// <summary>
/// A queue entry's state file, env/ID.json (<see cref="QueueEntryFile.Deserialize"/>), as a crash or another hand may leave it.
/// Properties: only <see cref="JsonException"/> is thrown (the queue then sets the file aside in corrupt/); an entry read is
/// whole, as the delivery agent uses it without checking: no null where the envelope has none (reverse path, recipients,
/// each recipient and its address, each status and its recipient), enum values that are defined (RET, BODY, NOTIFY flags,
/// a recipient's state), attempts not negative; and written again it reads back to the same file.
/// </summary>
internal sealed class QueueEntryTarget : IFuzzTarget
{
    public string Name => "QueueEntry";

    public void Run(ReadOnlySpan<byte> input)
    {
        QueueEntryFile entry;
        try
        {
            entry = QueueEntryFile.Deserialize(input.ToArray());
        }
        catch (JsonException)
        {
            return;
        }

        var envelope = entry.Envelope;
        Fuzz.Check(envelope is not null && envelope.ReversePath is not null && envelope.Recipients is not null, "an envelope with a null field");
        Fuzz.Check(Enum.IsDefined(envelope.Return) && Enum.IsDefined(envelope.Body), $"RET {(int)envelope.Return} or BODY {(int)envelope.Body} is undefined");
        foreach (var recipient in envelope.Recipients)
        {
            CheckRecipient(recipient);
        }

        Fuzz.Check(entry.Recipients is not null, "null recipient statuses");
        foreach (var status in entry.Recipients)
        {
            Fuzz.Check(status is not null, "a null recipient status");
            CheckRecipient(status.Recipient);
            Fuzz.Check(Enum.IsDefined(status.State), $"the recipient state {(int)status.State} is undefined");
        }

        Fuzz.Check(entry.Attempts >= 0, $"{entry.Attempts} attempts");
        var written = entry.Serialize();
        var again = QueueEntryFile.Deserialize(written);
        Fuzz.BytesEqual(written, again.Serialize(), "the entry written twice");
    }

    private static void CheckRecipient(QueueRecipient? recipient)
    {
        Fuzz.Check(recipient is not null && recipient.Address is not null, "a null recipient or address");
        Fuzz.Check(((int)recipient.Notify & ~0xF) == 0, $"NOTIFY {(int)recipient.Notify} has undefined flags");
    }
}
