using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// Mailing lists end to end (docs/addressing.md, "Mailing lists"): MailKit writes to a list on the MX port; the members'
/// copies are read back from the store and the queue, and the owner's notice about a member whose mailbox is full
/// from the owner's INBOX.
/// </summary>
public sealed class MailingListInteropTests
{
    private const string Owner = "bob@example.test";

    private static async Task<(InteropHost Host, InMemoryMailboxStore Store)> StartAsync(Action<InMemoryAddressBook> entries)
    {
        var book = new InMemoryAddressBook();
        entries(book);
        var store = new InMemoryMailboxStore();
        var host = await InteropHost.StartAsync(o =>
        {
            o.Store = store;
            o.AddressBook = book;
            o.Users.Add(("carol@example.test", "carol"));
            o.Users.Add(("dave@example.test", "dave"));
        });
        return (host, store);
    }

    private static async Task SendAsync(InteropHost host, string from, string to, string subject, CancellationToken ct)
    {
        using var client = new SmtpClient();
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        await client.SendAsync(Build.TextMessage(from, [to], subject, "hello members"), ct);
        await client.DisconnectAsync(true, ct);
    }

    private static async Task<MimeMessage[]> MessagesAsync(InteropHost host, string user)
    {
        var messages = new List<MimeMessage>();
        foreach (var stored in await host.InboxAsync(user))
        {
            messages.Add(await MimeMessage.LoadAsync(new MemoryStream(stored)));
        }
        return [.. messages];
    }

    [Fact]
    public async Task A_member_whose_mailbox_is_full_is_reported_to_the_list_owner_while_the_other_members_get_the_message()
    {
        var ct = Wire.Timeout();
        var (host, store) = await StartAsync(book =>
            book.AddList("team@example.test", Owner, "alice@example.test", "carol@example.test", "far@partner.example", "dave@example.test"));
        await using var _ = host;
        store.SetQuota("carol@example.test", 64); // smaller than any message with our Received header

        await SendAsync(host, "writer@example.org", "Team@Example.test", "to the team", ct);

        Assert.Equal(["to the team"], (await MessagesAsync(host, "alice@example.test")).Select(m => m.Subject));
        Assert.Equal(["to the team"], (await MessagesAsync(host, "dave@example.test")).Select(m => m.Subject));
        Assert.Empty(await MessagesAsync(host, "carol@example.test"));

        // The owner hears of carol, in an RFC 3464 report with the message attached; nobody else is named in it.
        var raw = Assert.Single(await host.InboxAsync(Owner));
        Assert.DoesNotMatch("(?<!\r)\n", System.Text.Encoding.ASCII.GetString(raw)); // CRLF only, as mail is on the wire
        var notice = Assert.Single(await MessagesAsync(host, Owner));
        Assert.Equal("Undelivered Mail Returned to Sender", notice.Subject);
        var report = Assert.IsType<MultipartReport>(notice.Body);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        var group = Assert.Single(status.StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal("rfc822; carol@example.test", group["Final-Recipient"]);
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.2.2", group["Status"]);
        Assert.Contains("mailbox full", group["Diagnostic-Code"] ?? "", StringComparison.Ordinal);
        Assert.Equal("to the team", Assert.IsType<MessagePart>(report[2]).Message!.Subject);

        // The remote member's copy is queued from the owner, so its bounce goes to the owner too; nothing is queued
        // for the writer, who hears nothing of the members.
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct));
        Assert.Equal(Owner, lease.Envelope.ReversePath);
        Assert.Equal(["far@partner.example"], lease.Envelope.Recipients.Select(r => r.Address));
        Assert.Null(lease.Envelope.EnvelopeId);
    }

    [Fact]
    public async Task A_full_mailbox_is_452_4_2_2_while_nothing_is_stored_and_otherwise_reported_to_the_writer()
    {
        var ct = Wire.Timeout();
        var (host, store) = await StartAsync(_ => { });
        await using var _ = host;
        store.SetQuota("carol@example.test", 64);

        using var client = new SmtpClient();
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        // Only carol: refused, so that the writer's server tries again later; nothing is stored.
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            client.SendAsync(Build.TextMessage("writer@example.org", ["carol@example.test"], "too big", "hello"), ct));
        Assert.Equal(452, (int)refused.StatusCode);
        Assert.Contains("4.2.2", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await host.Host.Queue.CountAsync(ct));

        // alice and carol: alice's copy is in, so refusing would have it sent twice; carol is reported to the writer.
        await client.SendAsync(Build.TextMessage("writer@example.org", ["alice@example.test", "carol@example.test"], "half in", "hello"), ct);
        await client.DisconnectAsync(true, ct);
        Assert.Equal(["half in"], (await MessagesAsync(host, "alice@example.test")).Select(m => m.Subject));
        Assert.Empty(await MessagesAsync(host, "carol@example.test"));
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct));
        Assert.Equal("", lease.Envelope.ReversePath);
        Assert.Equal("writer@example.org", Assert.Single(lease.Envelope.Recipients).Address);
        await using var notice = await host.Host.Queue.OpenContentAsync(lease.QueueId, ct);
        var report = Assert.IsType<MultipartReport>((await MimeMessage.LoadAsync(notice)).Body);
        var group = Assert.Single(Assert.IsType<MessageDeliveryStatus>(report[1]).StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal("rfc822; carol@example.test", group["Final-Recipient"]);
        Assert.Equal("5.2.2", group["Status"]);

        // Once carol has room, mail reaches her again.
        store.SetQuota("carol@example.test", null);
        await SendAsync(host, "writer@example.org", "carol@example.test", "fits", ct);
        Assert.Equal(["fits"], (await MessagesAsync(host, "carol@example.test")).Select(m => m.Subject));
    }

    [Fact]
    public async Task A_bounce_written_to_a_list_is_sent_on_with_the_null_sender_and_causes_no_notice()
    {
        var ct = Wire.Timeout();
        var (host, store) = await StartAsync(book =>
            book.AddList("team@example.test", Owner, "alice@example.test", "carol@example.test", "far@partner.example"));
        await using var _ = host;
        store.SetQuota("carol@example.test", 64);

        await using (var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct))
        {
            Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("EHLO client.example.org\r\n", ct);
            Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
            await c.WriteAsync("MAIL FROM:<>\r\n", ct);
            Assert.StartsWith("250 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("RCPT TO:<team@example.test>\r\n", ct);
            Assert.StartsWith("250 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("DATA\r\n", ct);
            Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("Subject: a bounce\r\n\r\nreturned\r\n.\r\n", ct);
            Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        }

        Assert.Equal(["a bounce"], (await MessagesAsync(host, "alice@example.test")).Select(m => m.Subject));
        Assert.Empty(await MessagesAsync(host, Owner)); // carol's full mailbox is nobody's to hear about
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct));
        Assert.Equal(("", "far@partner.example"), (lease.Envelope.ReversePath, Assert.Single(lease.Envelope.Recipients).Address));
    }

    [Fact]
    public async Task A_list_reached_through_an_alias_and_directly_sends_each_member_one_copy_and_nested_lists_send_from_their_own_owner()
    {
        var ct = Wire.Timeout();
        var (host, _) = await StartAsync(book =>
        {
            book.AddAlias("everyone@example.test", "team@example.test", "alice@example.test");
            book.AddList("team@example.test", Owner, "alice@example.test", "staff@example.test", "far@partner.example");
            book.AddList("staff@example.test", "carol@example.test", "dave@example.test", "alice@example.test", "desk@elsewhere.example");
        });
        await using var _h = host;

        using (var client = new SmtpClient())
        {
            await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
            await client.SendAsync(Build.TextMessage("writer@example.org", ["everyone@example.test", "team@example.test"], "all hands", "hello"), ct);
            await client.DisconnectAsync(true, ct);
        }

        Assert.Equal(["all hands"], (await MessagesAsync(host, "alice@example.test")).Select(m => m.Subject));
        Assert.Equal(["all hands"], (await MessagesAsync(host, "dave@example.test")).Select(m => m.Subject));
        Assert.Empty(await MessagesAsync(host, Owner));
        Assert.Empty(await MessagesAsync(host, "carol@example.test"));
        var leases = await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct);
        Assert.Equal(
            [("bob@example.test", "far@partner.example"), ("carol@example.test", "desk@elsewhere.example")],
            leases.Select(l => (l.Envelope.ReversePath, Assert.Single(l.Envelope.Recipients).Address)).Order());
    }

    [Fact]
    public async Task Lists_that_contain_each_other_send_each_member_one_copy_and_tell_the_inner_owner_of_the_loop()
    {
        var ct = Wire.Timeout();
        var (host, _) = await StartAsync(book =>
        {
            book.AddList("a-list@example.test", Owner, "alice@example.test", "b-list@example.test");
            book.AddList("b-list@example.test", "carol@example.test", "dave@example.test", "a-list@example.test");
        });
        await using var _h = host;

        await SendAsync(host, "writer@example.org", "a-list@example.test", "round and round", ct);

        Assert.Equal(["round and round"], (await MessagesAsync(host, "alice@example.test")).Select(m => m.Subject));
        Assert.Equal(["round and round"], (await MessagesAsync(host, "dave@example.test")).Select(m => m.Subject));
        Assert.Empty(await MessagesAsync(host, Owner));
        var notice = Assert.Single(await MessagesAsync(host, "carol@example.test"));
        var group = Assert.Single(Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(notice.Body)[1]).StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal("rfc822; a-list@example.test", group["Final-Recipient"]);
        Assert.Equal("5.4.6", group["Status"]);
        Assert.Equal(0, await host.Host.Queue.CountAsync(ct));
    }
}
