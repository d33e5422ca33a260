using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Smtp;
using MimeKit;

namespace Mail.Protocols.Testing.Tests;

/// <summary>MailTestServer as an application's test uses it: MailKit sends, the test inspects, waits and switches faults on.</summary>
public sealed class MailTestServerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30); // a safety net, never a measurement

    private static MimeMessage Letter(string from, string subject, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello from the application under test." };
        return message;
    }

    [Fact]
    public async Task Message_sent_without_login_is_recorded_with_its_envelope_and_readable_over_pop3()
    {
        var options = new MailTestServerOptions();
        options.Users.Add(("alice@example.test", "alice-pw"));
        await using var server = await MailTestServer.StartAsync(options);

        var letter = Letter("app@example.org", "Your order", "alice@example.test");
        letter.Bcc.Add(MailboxAddress.Parse("audit@elsewhere.test"));
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
            await client.SendAsync(letter);
            await client.DisconnectAsync(true);
        }

        var received = Assert.Single(await server.WaitForMessagesAsync(1, s_wait));
        Assert.Equal("app@example.org", received.Sender);
        Assert.Equal(["alice@example.test", "audit@elsewhere.test"], received.Recipients);
        Assert.Equal(SmtpRole.Mx, received.Role);
        Assert.Equal(server.SmtpPort, received.Port);
        Assert.False(received.IsSecure);
        Assert.Null(received.AuthenticatedUser);
        Assert.Equal("Your order", received.Message.Subject);
        Assert.Equal(letter.MessageId, received.Message.MessageId);
        Assert.Empty(received.Message.Bcc); // MailKit leaves Bcc out of the headers; the envelope has it
        Assert.Single(server.MessagesFor("AUDIT@elsewhere.test"));
        Assert.Single(server.Outbound);

        // Alice's mailbox holds it, for an application that reads mail too.
        using var pop3 = new Pop3Client();
        pop3.ServerCertificateValidationCallback = server.CertificateValidationCallback;
        await pop3.ConnectAsync(server.Host, server.Pop3sPort, SecureSocketOptions.SslOnConnect);
        await pop3.AuthenticateAsync("alice@example.test", "alice-pw");
        Assert.Equal("Your order", (await pop3.GetMessageAsync(0)).Subject);
        await pop3.DisconnectAsync(true);
    }

    [Fact]
    public async Task Submission_over_implicit_tls_records_the_login_and_the_port()
    {
        var options = new MailTestServerOptions();
        options.Users.Add(("app@example.test", "app-pw"));
        await using var server = await MailTestServer.StartAsync(options);
        using (var client = new SmtpClient())
        {
            // Only this server's own certificate is trusted.
            client.ServerCertificateValidationCallback = server.CertificateValidationCallback;
            await client.ConnectAsync(server.Host, server.SmtpsPort, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync("app@example.test", "app-pw");
            await client.SendAsync(Letter("app@example.test", "Signed in", "someone@example.net"));
            await client.DisconnectAsync(true);
        }
        var received = Assert.Single(await server.WaitForMessagesAsync(1, s_wait));
        Assert.Equal(SmtpRole.Submission, received.Role);
        Assert.Equal(server.SmtpsPort, received.Port);
        Assert.True(received.IsSecure);
        Assert.Equal("app@example.test", received.AuthenticatedUser);
    }

    [Fact]
    public async Task Waiting_for_more_than_arrive_times_out_saying_what_did()
    {
        await using var server = await MailTestServer.StartAsync();
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
            await client.SendAsync(Letter("app@example.org", "Only one", "bob@example.test"));
            await client.DisconnectAsync(true);
        }
        var failure = await Assert.ThrowsAsync<TimeoutException>(() => server.WaitForMessagesAsync(2, TimeSpan.FromMilliseconds(200)));
        Assert.StartsWith("1 of 2 message(s) arrived within", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Only one", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_is_woken_by_a_message_that_arrives_later()
    {
        await using var server = await MailTestServer.StartAsync();
        var waiting = server.WaitForMessagesAsync(2, s_wait);
        using var client = new SmtpClient();
        await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
        await client.SendAsync(Letter("app@example.org", "First", "bob@example.test"));
        Assert.False(waiting.IsCompleted);
        await client.SendAsync(Letter("app@example.org", "Second", "bob@example.test"));
        await client.DisconnectAsync(true);
        Assert.Equal(["First", "Second"], (await waiting).Select(message => message.Message.Subject));
    }

    [Fact]
    public async Task The_same_message_sent_twice_is_recorded_twice()
    {
        await using var server = await MailTestServer.StartAsync();
        var letter = Letter("app@example.org", "Again", "bob@example.test");
        // A trace header makes it look relayed: the kind of message a real server keeps only once if sent again.
        letter.Headers.Add("Received", "from relay.example.org by mx.example.org; Mon, 7 Dec 2026 01:00:00 +0000");
        using var client = new SmtpClient();
        await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
        await client.SendAsync(letter);
        await client.SendAsync(letter);
        await client.DisconnectAsync(true);
        Assert.Equal(2, (await server.WaitForMessagesAsync(2, s_wait)).Count);
        // Stored twice too: a real server would suppress the second copy of a relayed message, a test server must not.
        Assert.Equal(2, (await server.Store.ListMessagesAsync("bob@example.test", "INBOX")).Count);
    }

    [Fact]
    public async Task A_wait_pending_when_the_server_stops_fails_at_once()
    {
        var server = await MailTestServer.StartAsync();
        var waiting = server.WaitForMessagesAsync(1, s_wait);
        await server.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
    }

    [Fact]
    public async Task Faults_refuse_as_configured_and_purge_switches_them_off()
    {
        await using var server = await MailTestServer.StartAsync();
        using var client = new SmtpClient();
        await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);

        server.Faults.MailFrom = MailTestFaults.TryAgainLater;
        var mailFrom = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Letter("app@example.org", "x", "bob@example.test")));
        Assert.Equal(451, (int)mailFrom.StatusCode);

        server.Faults.MailFrom = null;
        server.Faults.Recipient = address => address.StartsWith("gone@", StringComparison.Ordinal) ? new SmtpReply(550, "5.1.1", "No such user") : null;
        var recipient = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Letter("app@example.org", "x", "gone@example.test")));
        Assert.Equal(550, (int)recipient.StatusCode);
        Assert.Equal("gone@example.test", recipient.Mailbox?.Address);

        server.Faults.EndOfData = MailTestFaults.MailboxFull;
        var full = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Letter("app@example.org", "x", "bob@example.test")));
        Assert.Equal(552, (int)full.StatusCode);
        Assert.Empty(server.Messages);

        server.Purge();
        await client.SendAsync(Letter("app@example.org", "After the faults", "bob@example.test"));
        await client.DisconnectAsync(true);
        Assert.Equal("After the faults", Assert.Single(await server.WaitForMessagesAsync(1, s_wait)).Message.Subject);
    }

    [Theory]
    [InlineData("MAIL")]
    [InlineData("RCPT")]
    [InlineData("DATA")]
    public async Task Dropped_connection_fault_closes_without_a_reply_and_a_retry_gets_through(string stage)
    {
        await using var server = await MailTestServer.StartAsync();
        switch (stage)
        {
            case "MAIL": server.Faults.MailFrom = MailTestFaults.DropConnection; break;
            case "RCPT": server.Faults.Recipient = _ => MailTestFaults.DropConnection; break;
            default: server.Faults.EndOfData = MailTestFaults.DropConnection; break;
        }
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
            // What an application's retry logic sees: the server went away mid-transaction, no SMTP reply.
            var dropped = await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(Letter("app@example.org", "Lost", "bob@example.test")));
            Assert.IsNotType<SmtpCommandException>(dropped);
            Assert.False(client.IsConnected);
        }
        Assert.Empty(server.Messages);

        server.Faults.Clear();
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
            await client.SendAsync(Letter("app@example.org", "Sent again", "bob@example.test"));
            await client.DisconnectAsync(true);
        }
        Assert.Equal("Sent again", Assert.Single(await server.WaitForMessagesAsync(1, s_wait)).Message.Subject);
    }

    [Fact]
    public async Task Only_users_are_taken_when_any_recipient_is_not()
    {
        var options = new MailTestServerOptions { AcceptAnyRecipient = false };
        options.Users.Add(("alice@example.test", "alice-pw"));
        await using var server = await MailTestServer.StartAsync(options);
        using var client = new SmtpClient();
        await client.ConnectAsync(server.Host, server.SmtpPort, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Letter("app@example.org", "x", "nobody@example.test")));
        Assert.Equal(550, (int)refused.StatusCode);
        await client.SendAsync(Letter("app@example.org", "For a user", "alice@example.test"));
        await client.DisconnectAsync(true);
        Assert.Equal("For a user", Assert.Single(await server.WaitForMessagesAsync(1, s_wait)).Message.Subject);
    }
}
