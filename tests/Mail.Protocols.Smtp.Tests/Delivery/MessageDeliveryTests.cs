using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
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

    [Fact]
    public async Task Forwards_are_queued_once_per_address_with_the_recipients_dsn_parameters_after_plain_relays()
    {
        var store = new InMemoryMailboxStore();
        var queue = new InMemoryMessageQueue();
        var delivery = new MessageDelivery(store, queue, NullLogger.Instance);
        var envelope = new QueueEnvelope("bob@example.org", [], DateTimeOffset.UnixEpoch);
        var alias = new QueueRecipient("team@example.test", DsnNotify.Failure, "rfc822;team@example.test");
        (QueueRecipient, IReadOnlyList<RecipientDestination>?)[] recipients =
        [
            (alias, [RecipientDestination.Mailbox("kate@example.test"), RecipientDestination.Forward("x@far.example")]),
            (new QueueRecipient("other@example.test"), [RecipientDestination.Forward("x@FAR.example"), RecipientDestination.Forward("X@far.example"),
                RecipientDestination.Forward("plain@RELAY.example"), RecipientDestination.Mailbox("kate@example.test", "news")]),
            (new QueueRecipient("plain@relay.example"), null),
        ];
        using var content = new MemoryStream(Encoding.ASCII.GetBytes("Subject: hi\r\n\r\nhello\r\n"));

        Assert.Null(await delivery.DeliverAsync(envelope, recipients, content, "Q1", CancellationToken.None));

        Assert.Single(await store.ListMessagesAsync("kate@example.test", "INBOX")); // one copy; the first path decided the folder
        var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        // The client's own relay recipient first; forwards once per address (local parts differing in case are two addresses).
        Assert.Equal([new QueueRecipient("plain@relay.example"), alias with { Address = "x@far.example" }, new QueueRecipient("X@far.example")],
            lease.Envelope.Recipients);
    }

    [Theory]
    [InlineData("news", "news")]       // the exact name wins over one in another case
    [InlineData("NEWS", "News")]       // else the first that differs in case only
    [InlineData("Lists/a", "Lists/a")] // a child folder by its full name
    [InlineData("Sent", "INBOX")]      // never a special-use folder
    [InlineData("Lists", "INBOX")]     // nor a name that holds no messages (\Noselect: deleted while it has a child)
    [InlineData("other", "INBOX")]     // no such folder
    public async Task A_subaddress_files_into_the_users_folder_of_that_name(string tag, string folder)
    {
        var store = new InMemoryMailboxStore();
        await store.CreateFolderAsync("kate@example.test", "News");
        await store.CreateFolderAsync("kate@example.test", "news");
        await store.CreateFolderAsync("kate@example.test", "Sent", SpecialUse.Sent);
        await store.CreateFolderAsync("kate@example.test", "Lists/a");
        await store.DeleteFolderAsync("kate@example.test", "Lists");
        var delivery = new MessageDelivery(store, new InMemoryMessageQueue(), NullLogger.Instance);
        using var content = new MemoryStream(Encoding.ASCII.GetBytes("Subject: hi\r\n\r\nhello\r\n"));
        (QueueRecipient, IReadOnlyList<RecipientDestination>?)[] recipients =
            [(new QueueRecipient($"kate+{tag}@example.test"), [RecipientDestination.Mailbox("kate@example.test", tag)])];

        Assert.Null(await delivery.DeliverAsync(new QueueEnvelope("bob@example.org", [], DateTimeOffset.UnixEpoch), recipients, content, "Q1", CancellationToken.None));

        Assert.Single(await store.ListMessagesAsync("kate@example.test", folder));
    }

    [Fact]
    public async Task The_servers_own_mail_to_an_alias_reaches_its_members_and_its_forwards()
    {
        // A notification to a sender that is a local alias (owners@) goes where mail from outside would go.
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "pw");
        users.AddUser("bob@example.test", "pw");
        var book = new InMemoryAddressBook();
        book.AddAlias("owners@example.test", "alice@example.test", "bob@example.test", "far@remote.example");
        var options = new RecipientPolicyOptions();
        options.LocalDomains.Add("example.test");
        var store = new InMemoryMailboxStore();
        var queue = new InMemoryMessageQueue();
        var submitter = new MailSubmitter(store, queue, new DefaultRecipientPolicy(options, users, book));
        using var content = new MemoryStream(Encoding.ASCII.GetBytes("Subject: notice\r\n\r\nhello\r\n"));

        await submitter.SubmitAsync(new QueueEnvelope("", [new QueueRecipient("owners@example.test")], DateTimeOffset.UnixEpoch), content);

        Assert.Single(await store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Single(await store.ListMessagesAsync("bob@example.test", "INBOX"));
        var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal("far@remote.example", Assert.Single(lease.Envelope.Recipients).Address);
    }
}
