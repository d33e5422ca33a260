using System.Globalization;
using System.Text;
using Mail.Protocols.Imap.Tests.Differential;
using MimeKit;
using StoreFlags = Mail.Protocols.Storage.MessageFlags;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// End to end over sockets: MailKit's SmtpClient delivers to the host's MX port, then a raw IMAP client (which reads
/// literals by their length and keeps every octet) fetches BODY[] and its siblings; the octets are exactly those
/// <see cref="Storage.IMailboxStore.OpenContentAsync"/> returns.
/// </summary>
public sealed class SmtpToImapEndToEndTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task Body_fetched_over_imap_is_exactly_what_smtp_stored()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        var alice = ImapInteropHost.Alice;

        // Three deliveries: the rich multipart, 8-bit UTF-8 with lines a dot-stuffing bug would break, and a
        // binary-looking base64 attachment large enough to need several reads of the socket.
        var eightBit = InteropMessages.Plain(alice, "8-bit body");
        var body = new TextPart("plain") { ContentTransferEncoding = ContentEncoding.EightBit };
        body.SetText("utf-8", "Grüße aus Köln – ½ € ✓\r\n.leading dot\r\n..two dots\r\n.\r\nEnde.\r\n");
        eightBit.Body = body;
        var large = InteropMessages.Plain(alice, "large");
        large.Body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "See the attachment.\r\n" },
            new MimePart("application", "octet-stream")
            {
                Content = new MimeContent(new MemoryStream([.. Enumerable.Range(0, 300_000).Select(i => (byte)(i * 31 % 251))])),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = "data.bin",
            },
        };
        foreach (var message in new[] { InteropMessages.Rich(alice), eightBit, large })
        {
            await InteropMessages.SendAsync(host.Smtp, message, alice, ct);
        }
        var infos = await host.Host.Store.ListMessagesAsync(alice, "INBOX", ct);
        Assert.Equal(3, infos.Count);

        await using var imap = await RawImapClient.ConnectAsync(host.Imap, ct);
        Assert.Equal("OK", (await imap.CommandAsync($"LOGIN {alice} {ImapInteropHost.AlicePassword}", ct)).Status);
        var select = await imap.CommandAsync("SELECT INBOX", ct);
        Assert.Equal("OK", select.Status);

        for (var i = 0; i < infos.Count; i++)
        {
            var info = infos[i];
            var stored = await InteropMessages.StoredAsync(host.Host.Store, alice, "INBOX", info.Uid, ct);
            Assert.Equal(info.Size, stored.Length);
            var uid = info.Uid.ToString(CultureInfo.InvariantCulture);

            // BODY.PEEK[] and RFC822.SIZE: the stored octets and their count; \Seen not set.
            var peek = await imap.CommandAsync($"UID FETCH {uid} (RFC822.SIZE BODY.PEEK[])", ct);
            Assert.Equal("OK", peek.Status);
            var response = Assert.Single(peek.Untagged);
            Assert.Contains($"RFC822.SIZE {stored.Length}", Encoding.Latin1.GetString(response), StringComparison.Ordinal);
            ByteAssert.AssertSameBytes(stored, Literal(response, "BODY[]"), $"Message {i + 1}, BODY.PEEK[]: ");
            Assert.Equal(StoreFlags.None, (await host.Host.Store.ListMessagesAsync(alice, "INBOX", ct))[i].Flags);

            // BODY[]<partial> across the middle, BODY[HEADER] + BODY[TEXT] = BODY[], RFC822 = BODY[].
            var middle = stored.Length / 3;
            var pieces = await imap.CommandAsync($"UID FETCH {uid} (BODY.PEEK[]<{middle}.1000> BODY.PEEK[HEADER] BODY.PEEK[TEXT])", ct);
            var pieceResponse = Assert.Single(pieces.Untagged);
            ByteAssert.AssertSameBytes(stored.AsSpan(middle, Math.Min(1000, stored.Length - middle)).ToArray(), Literal(pieceResponse, $"BODY[]<{middle}>"), $"Message {i + 1}, BODY[]<{middle}.1000>: ");
            var header = Literal(pieceResponse, "BODY[HEADER]");
            var text = Literal(pieceResponse, "BODY[TEXT]");
            ByteAssert.AssertSameBytes(stored, [.. header, .. text], $"Message {i + 1}, HEADER + TEXT: ");
            Assert.True(header.AsSpan().EndsWith("\r\n\r\n"u8));

            // BODY[] (not PEEK): the same octets, and \Seen is set -- reported in the same response and kept by the store.
            var fetch = await imap.CommandAsync($"UID FETCH {uid} BODY[]", ct);
            Assert.Equal("OK", fetch.Status);
            // (RFC 3501 §6.4.5: the changed flags SHOULD be in the FETCH responses; they may come in a FETCH of their own.)
            var fetched = Assert.Single(fetch.Untagged, r => r.AsSpan().IndexOf("BODY[] {"u8) >= 0);
            ByteAssert.AssertSameBytes(stored, Literal(fetched, "BODY[]"), $"Message {i + 1}, BODY[]: ");
            Assert.Contains(fetch.Untagged, r => Encoding.Latin1.GetString(r).Contains("FLAGS (\\Seen)", StringComparison.Ordinal));
            Assert.All(fetch.Untagged, r => Assert.StartsWith($"* {i + 1} FETCH (", Encoding.Latin1.GetString(r), StringComparison.Ordinal));
            Assert.Equal(StoreFlags.Seen, (await host.Host.Store.ListMessagesAsync(alice, "INBOX", ct))[i].Flags);

            var rfc822 = await imap.CommandAsync($"UID FETCH {uid} RFC822", ct);
            ByteAssert.AssertSameBytes(stored, Literal(Assert.Single(rfc822.Untagged), "RFC822"), $"Message {i + 1}, RFC822: ");
        }

        // The stored message is the Received: line our SMTP server added, then what the client sent.
        var first = await InteropMessages.StoredAsync(host.Host.Store, alice, "INBOX", infos[0].Uid, ct);
        Assert.True(first.AsSpan().StartsWith("Received: "u8), InteropMessages.Text(first));
        Assert.Contains("Subject: =?", InteropMessages.Text(first), StringComparison.Ordinal);
        var eightBitStored = InteropMessages.Text(await InteropMessages.StoredAsync(host.Host.Store, alice, "INBOX", infos[1].Uid, ct));
        Assert.Contains("\r\nGrüße aus Köln – ½ € ✓\r\n.leading dot\r\n..two dots\r\n.\r\nEnde.\r\n", eightBitStored, StringComparison.Ordinal);
        Assert.Equal("OK", (await imap.CommandAsync("LOGOUT", ct)).Status);
    }

    /// <summary>
    /// The octets of the literal that follows <paramref name="item"/> in a FETCH response (e.g. <c>BODY[] {n}</c> CRLF
    /// and n octets). The item must be followed by a literal, not by a quoted string or NIL.
    /// </summary>
    internal static byte[] Literal(byte[] response, string item)
    {
        var marker = Encoding.ASCII.GetBytes(item + " {");
        var at = response.AsSpan().IndexOf(marker);
        Assert.True(at >= 0, $"No literal for {item} in: {ByteAssert.Preview(response, 300)}");
        var digits = at + marker.Length;
        var close = response.AsSpan(digits).IndexOf((byte)'}');
        var length = int.Parse(response.AsSpan(digits, close), NumberStyles.None, CultureInfo.InvariantCulture);
        var start = digits + close + 3;
        Assert.Equal("}\r\n"u8.ToArray(), response.AsSpan(digits + close, 3).ToArray());
        return response.AsSpan(start, length).ToArray();
    }
}
