using System.Text;
using Mail.Protocols.Smtp.Tests.Interop;
using Mail.Protocols.Smtp.Tests.Transcripts;

namespace Mail.Protocols.Smtp.Tests.Delivery;

/// <summary>
/// A relayed message (one with a Received header and a Message-ID) that the hop before us sends again, the same
/// octets with the same envelope from the same address, is answered 250 but stored once per user while the
/// window lasts. Anything that is not that same message is stored as usual.
/// </summary>
public sealed class DuplicateSuppressionTests
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";

    private static string Relayed(string hopQueueId = "4QX9ZB1Y", string messageId = "<m1@example.org>") =>
        "Received: from client.example.org ([192.0.2.7])\r\n" +
        $"\tby mx.sender.test (Mail.Protocols) with ESMTPSA id {hopQueueId};\r\n" +
        "\tSun, 29 Nov 2026 11:58:00 +0000\r\n" +
        "From: carol@example.org\r\n" +
        $"Message-ID: {messageId}\r\n" +
        "Subject: relayed\r\n" +
        "\r\n" +
        "hello\r\n";

    private static async Task SendAsync(SmtpTestHarness h, string content, params string[] recipients)
    {
        Assert.StartsWith("250 ", await h.CommandAsync("MAIL FROM:<carol@example.org>"));
        foreach (var recipient in recipients.DefaultIfEmpty(Alice))
        {
            Assert.StartsWith("250 ", await h.CommandAsync($"RCPT TO:<{recipient}>"));
        }
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync(content + "."));
    }

    private static async Task<int> InboxCountAsync(SmtpTestHarness h, string user = Alice) => (await h.Store.ListMessagesAsync(user, "INBOX")).Count;

    [Fact]
    public async Task The_same_relayed_message_sent_again_is_accepted_and_stored_once()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await SendAsync(h, Relayed());
        await SendAsync(h, Relayed());
        Assert.Equal(1, await InboxCountAsync(h));
    }

    [Fact]
    public async Task The_same_relayed_message_sent_again_to_a_mailing_list_is_stored_once_for_each_member()
    {
        var book = new Mail.Protocols.InMemory.InMemoryAddressBook();
        book.AddList("crew@example.test", Bob, Alice, Bob);
        await using var h = new SmtpTestHarness(addressBook: book);
        await h.StartAsync();
        await SendAsync(h, Relayed(), "crew@example.test");
        await SendAsync(h, Relayed(), "crew@example.test");
        Assert.Equal(1, await InboxCountAsync(h));
        Assert.Equal(1, await InboxCountAsync(h, Bob));
    }

    // Sends one message over its own connection to the MX port, unauthenticated, and expects it accepted.
    private static async Task SendOverSocketAsync(InteropHost host, string sender, string content, CancellationToken ct, System.Net.IPAddress? from = null)
    {
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct, from);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        await c.WriteAsync($"MAIL FROM:<{sender}>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync($"RCPT TO:<{Alice}>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync(content + ".\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("QUIT\r\n", ct);
        Assert.StartsWith("221 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stranger_who_copies_the_received_header_and_message_id_cannot_make_the_real_message_dropped()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var real = Relayed();
        // The forgery carries the real message's trace header and Message-ID (both readable in any copy of it).
        var forged = real.Replace("hello\r\n", "FORGED\r\n", StringComparison.Ordinal);
        await SendOverSocketAsync(host, "mallory@example.org", forged, ct);
        await SendOverSocketAsync(host, "carol@example.org", real, ct);

        var stored = (await host.InboxAsync(Alice)).Select(m => Encoding.ASCII.GetString(Wire.SplitReceived(m).Body)).ToList();
        Assert.Equal([forged, real], stored);

        // The real hop sending its message again is still a resend: no third copy.
        await SendOverSocketAsync(host, "carol@example.org", real, ct);
        Assert.Equal(2, (await host.InboxAsync(Alice)).Count);
    }

    [Fact]
    public async Task The_same_message_with_the_same_envelope_from_another_client_address_is_another_message()
    {
        // Someone elsewhere who has a copy of the message (a co-recipient, say) and sends it on with the same reverse
        // path has not made the hop's resend: only a copy from the hop's own address is suppressed.
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        var message = Relayed();
        await SendOverSocketAsync(host, "carol@example.org", message, ct, System.Net.IPAddress.Parse("127.0.0.2"));
        await SendOverSocketAsync(host, "carol@example.org", message, ct, System.Net.IPAddress.Loopback);
        Assert.Equal(2, (await host.InboxAsync(Alice)).Count);
        // The same address again is the resend.
        await SendOverSocketAsync(host, "carol@example.org", message, ct, System.Net.IPAddress.Loopback);
        Assert.Equal(2, (await host.InboxAsync(Alice)).Count);
    }

    [Fact]
    public async Task The_same_content_with_another_reverse_path_or_other_octets_is_another_message()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await SendAsync(h, Relayed());
        // Same headers, another envelope sender: not the hop's resend.
        Assert.StartsWith("250 ", await h.CommandAsync("MAIL FROM:<mallory@example.org>"));
        Assert.StartsWith("250 ", await h.CommandAsync($"RCPT TO:<{Alice}>"));
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync(Relayed() + "."));
        // Same envelope and headers, one octet of the body changed.
        await SendAsync(h, Relayed().Replace("hello", "hellO", StringComparison.Ordinal));
        Assert.Equal(3, await InboxCountAsync(h));
    }

    [Fact]
    public async Task Another_hop_queue_id_another_message_id_or_no_received_header_is_a_different_message()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await SendAsync(h, Relayed());
        await SendAsync(h, Relayed(hopQueueId: "4QX9ZB20")); // the same Message-ID through another transaction of the hop
        await SendAsync(h, Relayed(messageId: "<m2@example.org>"));
        // Straight from a client (no Received header): a client may mean to send twice.
        const string direct = "From: carol@example.org\r\nMessage-ID: <m3@example.org>\r\nSubject: direct\r\n\r\nhi\r\n";
        await SendAsync(h, direct);
        await SendAsync(h, direct);
        Assert.Equal(5, await InboxCountAsync(h));
    }

    [Fact]
    public async Task A_user_who_already_got_it_gets_no_second_copy_while_a_new_recipient_does()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await SendAsync(h, Relayed(), Alice);
        await SendAsync(h, Relayed(), Alice, Bob);
        Assert.Equal(1, await InboxCountAsync(h, Alice));
        Assert.Equal(1, await InboxCountAsync(h, Bob));
    }

    [Fact]
    public async Task After_the_window_the_same_message_is_stored_again_and_a_zero_window_turns_suppression_off()
    {
        await using (var h = new SmtpTestHarness(o =>
        {
            o.DuplicateSuppressionWindow = TimeSpan.FromMinutes(30);
            o.IdleTimeout = TimeSpan.FromHours(1); // the session waits out the window between messages
        }))
        {
            await h.StartAsync();
            await SendAsync(h, Relayed());
            h.Time.Advance(TimeSpan.FromMinutes(29));
            await SendAsync(h, Relayed());
            Assert.Equal(1, await InboxCountAsync(h));
            h.Time.Advance(TimeSpan.FromMinutes(2));
            await SendAsync(h, Relayed());
            Assert.Equal(2, await InboxCountAsync(h));
        }
        await using (var off = new SmtpTestHarness(o => o.DuplicateSuppressionWindow = TimeSpan.Zero))
        {
            await off.StartAsync();
            await SendAsync(off, Relayed());
            await SendAsync(off, Relayed());
            Assert.Equal(2, await InboxCountAsync(off));
        }
    }

    [Fact]
    public async Task Folded_fields_count_whole_and_a_header_block_too_long_to_scan_is_never_suppressed()
    {
        await using var h = new SmtpTestHarness(o => o.MaxMessageSize = 1024 * 1024);
        await h.StartAsync();
        // The same Received header folded differently is another text: not the same hop's copy.
        var folded = Relayed().Replace(" with ESMTPSA", "\r\n\twith ESMTPSA", StringComparison.Ordinal);
        await SendAsync(h, Relayed());
        await SendAsync(h, folded);
        await SendAsync(h, folded);
        Assert.Equal(2, await InboxCountAsync(h));

        // 70 KiB of other fields first: the scan stops at 64 KiB without finding the pair, and stores as usual.
        var padding = string.Concat(Enumerable.Range(0, 1000).Select(i => $"X-Padding-{i:D4}: {new string('p', 56)}\r\n"));
        var big = padding + Relayed(messageId: "<big@example.org>");
        await SendAsync(h, big);
        await SendAsync(h, big);
        Assert.Equal(4, await InboxCountAsync(h));
    }

    [Fact]
    public async Task Past_its_capacity_the_filter_forgets_the_oldest_first()
    {
        await using var h = new SmtpTestHarness(o => o.DuplicateSuppressionCapacity = 2);
        await h.StartAsync();
        await SendAsync(h, Relayed(messageId: "<a@example.org>"));
        await SendAsync(h, Relayed(messageId: "<b@example.org>"));
        await SendAsync(h, Relayed(messageId: "<c@example.org>")); // <a> is forgotten
        await SendAsync(h, Relayed(messageId: "<c@example.org>"));
        await SendAsync(h, Relayed(messageId: "<a@example.org>"));
        Assert.Equal(4, await InboxCountAsync(h));
    }
}
