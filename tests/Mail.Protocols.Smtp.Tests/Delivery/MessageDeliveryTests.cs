using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Delivery;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Smtp.Tests.Delivery;

/// <summary>Local delivery gives each user one copy, however the user directory spells the user's login.</summary>
public sealed class MessageDeliveryTests
{
    [Fact]
    public async Task Two_recipients_whose_logins_have_one_normal_form_get_one_copy()
    {
        // A directory may name one user by two spellings of the login (one per address); the store keys both to
        // kate's mailbox, so delivery must count them as one user too.
        var store = new InMemoryMailboxStore();
        var delivery = new MessageDelivery(store, new InMemoryMessageQueue(), NullLogger.Instance);
        var envelope = new QueueEnvelope("bob@example.org", [], DateTimeOffset.UnixEpoch);
        (QueueRecipient, IReadOnlyList<RecipientDestination>?)[] recipients =
        [
            (new QueueRecipient("kate@example.test"), [RecipientDestination.Mailbox("kate@example.test")]),
            (new QueueRecipient("k@example.test"), [RecipientDestination.Mailbox("\u212Aate@example.test")]), // the Kelvin sign, NFKC "K"
        ];
        using var content = new MemoryStream(Encoding.ASCII.GetBytes("Subject: hi\r\n\r\nhello\r\n"));

        Assert.Null(await delivery.DeliverAsync(envelope, recipients, content, "Q1", CancellationToken.None));

        Assert.Single(await store.ListMessagesAsync("kate@example.test", "INBOX"));
    }
}
