using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// Aliases, subaddresses and catch-alls end to end: MailKit or a raw socket on the MX port, the message read back
/// from the store or over POP3, forwards asserted in the queue.
/// </summary>
public sealed class AddressingInteropTests
{
    private static async Task<InteropHost> StartAsync(Action<InMemoryAddressBook> aliases)
    {
        var book = new InMemoryAddressBook();
        aliases(book);
        return await InteropHost.StartAsync(o =>
        {
            o.AddressBook = book;
            o.AllowPlaintextAuth = true; // POP3 read-back over loopback without TLS
            o.Users.Add(("carol@example.test", "carol"));
        });
    }

    private static async Task SendAsync(InteropHost host, string to, string subject, CancellationToken ct)
    {
        using var client = new SmtpClient();
        await host.ConnectAsync(client, host.Mx, SecureSocketOptions.None, ct);
        await client.SendAsync(Build.TextMessage("sender@example.org", [to], subject, "hello"), ct);
        await client.DisconnectAsync(true, ct);
    }

    private static async Task<string[]> SubjectsAsync(InteropHost host, string user, string folder = "INBOX")
    {
        var subjects = new List<string>();
        foreach (var info in await host.Host.Store.ListMessagesAsync(user, folder))
        {
            await using var content = await host.Host.Store.OpenContentAsync(user, folder, info.Uid);
            subjects.Add((await MimeKit.MimeMessage.LoadAsync(content)).Subject ?? "");
        }
        return [.. subjects];
    }

    [Fact]
    public async Task Mail_to_an_alias_reaches_both_local_users_once_each()
    {
        var ct = Wire.Timeout();
        // bob is reached twice (directly and through team@); he gets one copy.
        await using var host = await StartAsync(book =>
        {
            book.AddAlias("sales@example.test", "alice@example.test", "team@example.test");
            book.AddAlias("team@example.test", "bob@example.test", "BOB@example.test");
        });

        await SendAsync(host, "Sales@Example.test", "to sales", ct);

        Assert.Equal(["to sales"], await SubjectsAsync(host, "alice@example.test"));
        Assert.Empty(await SubjectsAsync(host, "carol@example.test"));
        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(host.Host.EndPoints["pop3"].Address.ToString(), host.Host.EndPoints["pop3"].Port, SecureSocketOptions.None, ct);
        await pop3.AuthenticateAsync("bob@example.test", "bob", ct);
        Assert.Equal(1, pop3.Count);
        Assert.Equal("to sales", (await pop3.GetMessageAsync(0, ct)).Subject);
        await pop3.DisconnectAsync(true, ct);
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Fact]
    public async Task A_subaddress_reaches_its_user_and_is_filed_into_the_folder_named_by_the_tag()
    {
        var ct = Wire.Timeout();
        await using var host = await StartAsync(_ => { });
        await host.Host.Store.CreateFolderAsync("alice@example.test", "News", cancellationToken: ct);
        await host.Host.Store.CreateFolderAsync("alice@example.test", "Trash", SpecialUse.Trash, ct);

        await SendAsync(host, "alice+news@example.test", "tagged news", ct);       // the folder, in another letter case
        await SendAsync(host, "alice+holidays@example.test", "no such folder", ct); // INBOX
        await SendAsync(host, "alice+Trash@example.test", "special use", ct);       // never into a special-use folder

        Assert.Equal(["tagged news"], await SubjectsAsync(host, "alice@example.test", "News"));
        Assert.Equal(["no such folder", "special use"], await SubjectsAsync(host, "alice@example.test"));
        Assert.Empty(await SubjectsAsync(host, "alice@example.test", "Trash"));
    }

    [Fact]
    public async Task A_tag_written_on_an_alias_is_passed_on_and_files_the_copy_into_the_targets_folder_of_that_name()
    {
        var ct = Wire.Timeout();
        await using var host = await StartAsync(book => book.AddAlias("sales@example.test", "alice@example.test", "bob@example.test"));
        await host.Host.Store.CreateFolderAsync("alice@example.test", "Q3", cancellationToken: ct);

        await SendAsync(host, "sales+q3@example.test", "quarterly", ct);

        Assert.Equal(["quarterly"], await SubjectsAsync(host, "alice@example.test", "Q3"));
        Assert.Empty(await SubjectsAsync(host, "alice@example.test"));
        Assert.Equal(["quarterly"], await SubjectsAsync(host, "bob@example.test")); // no folder q3: INBOX
    }

    [Fact]
    public async Task A_subaddress_is_an_unknown_user_when_subaddresses_are_off()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.Addressing.SubaddressSeparator = null);
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice+news@example.test>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("550 5.1.1 Recipient address rejected: user unknown", await c.ReadSingleLineReplyAsync(ct));
    }

    [Fact]
    public async Task An_unknown_address_of_a_domain_with_a_catch_all_reaches_the_catch_all()
    {
        var ct = Wire.Timeout();
        await using var host = await StartAsync(book => book.SetCatchAll("example.test", "carol@example.test"));

        await SendAsync(host, "nobody-in-particular@example.test", "caught", ct);
        await SendAsync(host, "alice@example.test", "for alice", ct);

        Assert.Equal(["caught"], await SubjectsAsync(host, "carol@example.test"));
        Assert.Equal(["for alice"], await SubjectsAsync(host, "alice@example.test"));
    }

    [Fact]
    public async Task An_alias_loop_is_refused_at_rcpt_with_5_4_6_and_the_session_goes_on()
    {
        var ct = Wire.Timeout();
        await using var host = await StartAsync(book =>
        {
            book.AddAlias("ping@example.test", "alice@example.test", "pong@example.test");
            book.AddAlias("pong@example.test", "ping@example.test");
        });
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<ping@example.test>\r\n", ct);
        Assert.Equal("550 5.4.6 Recipient address rejected: alias loop detected", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<bob@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: after the loop\r\n\r\nbody\r\n.\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);

        Assert.Equal(["after the loop"], await SubjectsAsync(host, "bob@example.test"));
        Assert.Empty(await SubjectsAsync(host, "alice@example.test"));
    }

    [Fact]
    public async Task An_alias_that_forwards_to_another_domain_is_queued_for_an_unauthenticated_mx_client_which_still_cannot_relay()
    {
        var ct = Wire.Timeout();
        await using var host = await StartAsync(book => book.AddAlias("partners@example.test", "alice@example.test", "Desk@Partner.EXAMPLE"));
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<desk@partner.example>\r\n", ct);
        Assert.Equal("554 5.7.1 Relay access denied", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<partners@example.test> NOTIFY=FAILURE ORCPT=rfc822;partners@example.test\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: forwarded\r\n\r\nbody\r\n.\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);

        Assert.Equal(["forwarded"], await SubjectsAsync(host, "alice@example.test"));
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct));
        var recipient = Assert.Single(lease.Envelope.Recipients);
        Assert.Equal("Desk@Partner.EXAMPLE", recipient.Address);
        Assert.Equal(Queue.DsnNotify.Failure, recipient.Notify);
        Assert.Equal("rfc822;partners@example.test", recipient.OriginalRecipient);
        Assert.Equal("a@example.org", lease.Envelope.ReversePath);
    }

    [Fact]
    public async Task With_sender_rewriting_a_forward_is_queued_from_the_srs_address_and_senders_of_our_domain_and_relayed_recipients_keep_theirs()
    {
        var ct = Wire.Timeout();
        var book = new InMemoryAddressBook();
        book.AddAlias("partners@example.test", "alice@example.test", "desk@partner.example");
        await using var host = await InteropHost.StartAsync(o =>
        {
            o.AddressBook = book;
            o.SenderRewriting = new Addressing.SenderRewritingOptions { Secret = "sixteen octets at least!"u8.ToArray(), Domain = "example.test" };
        });

        // A stranger's message to the alias: the forward leaves from our SRS form of the stranger's address.
        await SendAsync(host, "partners@example.test", "from outside", ct);
        var lease = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct));
        Assert.Equal("desk@partner.example", Assert.Single(lease.Envelope.Recipients).Address);
        Assert.Matches("^SRS0=[^=]{4}=[A-Z2-7]{2}=example.org=sender@example.test$", lease.Envelope.ReversePath);
        await host.Host.Queue.CompleteAsync(lease, ct);

        // A user of our own domain needs no rewriting (our SPF covers us), and a recipient the client relays itself
        // keeps the client's sender.
        using (var client = new SmtpClient())
        {
            await host.ConnectAsync(client, host.Submission, SecureSocketOptions.StartTls, ct);
            await client.AuthenticateAsync("alice@example.test", "alice", ct);
            await client.SendAsync(Build.TextMessage("alice@example.test", ["partners@example.test", "someone@elsewhere.example"], "from inside", "hi"), ct);
            await client.DisconnectAsync(true, ct);
        }
        var leases = await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1), ct);
        Assert.Equal(["desk@partner.example", "someone@elsewhere.example"], leases.SelectMany(l => l.Envelope.Recipients.Select(r => r.Address)).Order());
        Assert.All(leases, l => Assert.Equal("alice@example.test", l.Envelope.ReversePath));
        Assert.Equal(2, (await host.InboxAsync("alice@example.test", ct)).Count);
    }

    private static async Task<RawSmtpConnection> GreetedAsync(InteropHost host, CancellationToken ct)
    {
        var connection = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await connection.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await connection.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await connection.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        return connection;
    }
}
