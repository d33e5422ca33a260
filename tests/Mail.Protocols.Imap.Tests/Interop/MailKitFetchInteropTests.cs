using MailKit;
using MailKit.Net.Imap;
using MimeKit;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// MailKit's ImapClient fetching what SMTP delivered: summaries (ENVELOPE, BODYSTRUCTURE, FLAGS, UID, MODSEQ,
/// RFC822.SIZE, INTERNALDATE) checked against the message sent, whole messages and single parts compared with the
/// octets the store holds, and partial fetches.
/// </summary>
public sealed class MailKitFetchInteropTests
{
    private const MessageSummaryItems AllSummaryItems = MessageSummaryItems.Envelope | MessageSummaryItems.BodyStructure | MessageSummaryItems.Flags
        | MessageSummaryItems.UniqueId | MessageSummaryItems.ModSeq | MessageSummaryItems.Size | MessageSummaryItems.InternalDate;

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task Summaries_of_an_smtp_delivery_describe_the_message_sent()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var sent = InteropMessages.Rich(ImapInteropHost.Alice);
        await InteropMessages.SendAsync(host.Smtp, sent, ImapInteropHost.Alice, ct);
        await host.SendAsync(InteropMessages.Plain(ImapInteropHost.Alice, "second"), ct);
        var stored = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal(2, stored.Count);

        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.CondStore), log.Transcript);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(2, inbox.Count);
        var summaries = await inbox.FetchAsync(0, -1, AllSummaryItems, ct);
        Assert.Equal(2, summaries.Count);
        var summary = summaries[0];
        var info = stored[0];

        // UID, size, internal date, flags and modseq are the store's.
        Assert.Equal(info.Uid, summary.UniqueId.Id);
        Assert.Equal(inbox.UidValidity, summary.UniqueId.Validity);
        Assert.Equal(info.Size, (long)summary.Size!.Value);
        Assert.Equal(info.InternalDate.ToUnixTimeSeconds(), summary.InternalDate!.Value.ToUnixTimeSeconds());
        Assert.Equal(info.InternalDate.Offset, summary.InternalDate!.Value.Offset);
        Assert.Equal(MessageFlags.None, summary.Flags!.Value & ~MessageFlags.Recent);
        Assert.Empty(summary.Keywords);
        Assert.Equal(info.ModSeq, summary.ModSeq!.Value);
        Assert.True(summaries[1].ModSeq > summary.ModSeq, log.Transcript);
        Assert.True(inbox.HighestModSeq >= summaries[1].ModSeq!.Value, log.Transcript);

        // ENVELOPE: the encoded-word subject decoded, every address field, date, ids.
        var envelope = summary.Envelope!;
        Assert.Equal(InteropMessages.EncodedSubject, envelope.Subject);
        Assert.Equal(sent.Date, envelope.Date);
        Assert.Equal(sent.MessageId, envelope.MessageId);
        Assert.Equal(sent.InReplyTo, envelope.InReplyTo?.Trim('<', '>'));
        var from = Assert.IsType<MailboxAddress>(Assert.Single(envelope.From));
        Assert.Equal("Jörg Sender", from.Name);
        Assert.Equal("joerg@example.org", from.Address);
        // Sender defaults to From, as RFC 9051 §7.5.2 requires of the server.
        Assert.Equal("joerg@example.org", Assert.IsType<MailboxAddress>(Assert.Single(envelope.Sender)).Address);
        Assert.Equal("replies@example.org", Assert.IsType<MailboxAddress>(Assert.Single(envelope.ReplyTo)).Address);
        Assert.Equal(ImapInteropHost.Alice, Assert.IsType<MailboxAddress>(Assert.Single(envelope.To)).Address);
        var cc = Assert.IsType<MailboxAddress>(Assert.Single(envelope.Cc));
        Assert.Equal(("Carol", "carol@example.net"), (cc.Name, cc.Address));
        Assert.Empty(envelope.Bcc);

        // BODYSTRUCTURE: multipart/mixed of (alternative (plain, html), pdf attachment, message/rfc822).
        var mixed = Assert.IsType<BodyPartMultipart>(summary.Body);
        Assert.True(mixed.ContentType.IsMimeType("multipart", "mixed"), mixed.ContentType.MimeType);
        Assert.Equal(((Multipart)sent.Body!).Boundary, mixed.ContentType.Boundary);
        Assert.Equal(3, mixed.BodyParts.Count);
        var alternative = Assert.IsType<BodyPartMultipart>(mixed.BodyParts[0]);
        Assert.True(alternative.ContentType.IsMimeType("multipart", "alternative"));
        Assert.Equal("1", alternative.PartSpecifier);
        var plain = Assert.IsType<BodyPartText>(alternative.BodyParts[0]);
        Assert.Equal("1.1", plain.PartSpecifier);
        Assert.True(plain.IsPlain);
        Assert.Equal("utf-8", plain.ContentType.Charset, ignoreCase: true);
        Assert.Equal("quoted-printable", plain.ContentTransferEncoding, ignoreCase: true);
        Assert.True(plain.Lines >= 3, $"lines {plain.Lines}");
        var html = Assert.IsType<BodyPartText>(alternative.BodyParts[1]);
        Assert.True(html.IsHtml);
        Assert.Equal("1.2", html.PartSpecifier);
        var pdf = Assert.IsType<BodyPartBasic>(mixed.BodyParts[1]);
        Assert.Equal("2", pdf.PartSpecifier);
        Assert.True(pdf.ContentType.IsMimeType("application", "pdf"));
        Assert.Equal("base64", pdf.ContentTransferEncoding, ignoreCase: true);
        Assert.True(pdf.IsAttachment);
        Assert.Equal("bericht-q4.pdf", pdf.FileName);
        var forwarded = Assert.IsType<BodyPartMessage>(mixed.BodyParts[2]);
        Assert.Equal("3", forwarded.PartSpecifier);
        Assert.True(forwarded.ContentType.IsMimeType("message", "rfc822"));
        Assert.Equal("Original note", forwarded.Envelope!.Subject);
        Assert.Equal("forwarded.1@example.com", forwarded.Envelope!.MessageId);
        Assert.Equal("dave@example.com", Assert.IsType<MailboxAddress>(Assert.Single(forwarded.Envelope!.From)).Address);
        var inner = Assert.IsType<BodyPartText>(forwarded.Body);
        Assert.True(inner.IsPlain);
        Assert.Equal(2u, inner.Lines);
        Assert.True(forwarded.Lines > inner.Lines, $"message/rfc822 lines {forwarded.Lines}");

        // MailKit's view of what is an attachment and what is the text.
        Assert.Equal(["bericht-q4.pdf", null], summary.Attachments.Select(a => a.FileName));
        Assert.Same(plain, summary.TextBody);
        Assert.Same(html, summary.HtmlBody);

        // Each part's octets are exactly its BODY[n] (checked against the stored message below).
        var content = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", info.Uid, ct);
        foreach (var part in new BodyPartBasic[] { plain, html, pdf, forwarded })
        {
            var octets = await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(summary.UniqueId, part.PartSpecifier, ct), ct);
            Assert.True(part.Octets == (uint)octets.Length, $"part {part.PartSpecifier}: BODYSTRUCTURE says {part.Octets} octets, BODY[] has {octets.Length}");
            Assert.True(content.AsSpan().IndexOf(octets) > 0, $"BODY[{part.PartSpecifier}] is not a slice of the stored message");
        }
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Whole_messages_and_single_parts_are_the_stored_octets()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var sent = InteropMessages.Rich(ImapInteropHost.Alice);
        await InteropMessages.SendAsync(host.Smtp, sent, ImapInteropHost.Alice, ct);
        var uid = Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Uid;
        var stored = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", uid, ct);
        // The store holds our Received: line and then exactly what was sent.
        Assert.True(stored.AsSpan().StartsWith("Received: "u8), InteropMessages.Text(stored));

        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, implicitTls: true, cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var id = new UniqueId(inbox.UidValidity, uid);

        // BODY.PEEK[] through MailKit's stream: the stored octets, and the message stays unseen.
        ByteAssert.AssertSameBytes(stored, await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, ct), ct), "BODY.PEEK[] ");
        Assert.Equal(MessageFlags.None, (await inbox.FetchAsync([id], MessageSummaryItems.Flags, ct))[0].Flags!.Value & ~MessageFlags.Recent);

        // GetMessageAsync (BODY.PEEK[] parsed by MimeKit): written out again it is the stored octets, and its parts are those sent.
        var message = await inbox.GetMessageAsync(id, ct);
        ByteAssert.AssertSameBytes(stored, InteropMessages.Bytes(message), "GetMessageAsync, written back ");
        Assert.Equal(InteropMessages.EncodedSubject, message.Subject);
        var pdf = message.Attachments.OfType<MimePart>().Single();
        using (var decoded = new MemoryStream())
        {
            await pdf.Content!.DecodeToAsync(decoded, ct);
            Assert.Equal(InteropMessages.AttachmentBytes, decoded.ToArray());
        }
        Assert.Equal("Original note", message.Attachments.OfType<MessagePart>().Single().Message!.Subject);

        // GetBodyPartAsync (BODY.PEEK[n.MIME] and BODY.PEEK[n]) of each part.
        var summary = (await inbox.FetchAsync([id], MessageSummaryItems.BodyStructure | MessageSummaryItems.UniqueId, ct))[0];
        var mixed = Assert.IsType<BodyPartMultipart>(summary.Body);
        var attachment = Assert.IsType<MimePart>(await inbox.GetBodyPartAsync(id, mixed.BodyParts[1], ct));
        Assert.Equal("bericht-q4.pdf", attachment.FileName);
        using (var decoded = new MemoryStream())
        {
            await attachment.Content!.DecodeToAsync(decoded, ct);
            Assert.Equal(InteropMessages.AttachmentBytes, decoded.ToArray());
        }
        var text = Assert.IsType<TextPart>(await inbox.GetBodyPartAsync(id, summary.TextBody!, ct));
        // (MimeKit's decoded text may have LF line ends; the octets themselves are compared above.)
        Assert.Equal("Hallo Alice,\nanbei der Bericht über das Quartal.\nGrüße, Jörg\n", text.Text.ReplaceLineEndings("\n"));
        var rfc822 = Assert.IsType<MessagePart>(await inbox.GetBodyPartAsync(id, mixed.BodyParts[2], ct));
        Assert.Equal("The forwarded text.\nLine two.\n", rfc822.Message!.TextBody!.ReplaceLineEndings("\n"));

        // BODY[3.1]: the body of the embedded message, a part number inside the message/rfc822 part.
        var innerBody = await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, "3.1", ct), ct);
        ByteAssert.AssertSameBytes("The forwarded text.\r\nLine two.\r\n"u8.ToArray(), innerBody, "BODY[3.1] ");
        var innerHeader = InteropMessages.Text(await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, "3.HEADER", ct), ct));
        Assert.Contains("Subject: Original note\r\n", innerHeader, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", innerHeader, StringComparison.Ordinal);

        // The fetches above were all PEEKs: the message is still unseen.
        Assert.Equal(MessageFlags.None, (await inbox.FetchAsync([id], MessageSummaryItems.Flags, ct))[0].Flags!.Value & ~MessageFlags.Recent);
        Assert.Equal(Storage.MessageFlags.None, (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct))[0].Flags);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Partial_fetches_return_the_window_of_the_stored_octets()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        await InteropMessages.SendAsync(host.Smtp, InteropMessages.Rich(ImapInteropHost.Alice), ImapInteropHost.Alice, ct);
        var uid = Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Uid;
        var stored = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", uid, ct);

        using var client = await host.LoginAsync(cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var id = new UniqueId(inbox.UidValidity, uid);
        foreach (var (offset, count) in new[] { (0, 1), (0, 100), (17, 300), (stored.Length - 10, 10), (stored.Length - 10, 500), (1000, 4096) })
        {
            var window = await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, offset, count, ct), ct);
            var expected = stored.AsSpan(offset, Math.Min(count, stored.Length - offset)).ToArray();
            ByteAssert.AssertSameBytes(expected, window, $"BODY.PEEK[]<{offset}.{count}> ");
        }
        // Past the end: nothing.
        Assert.Empty(await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, stored.Length + 5, 10, ct), ct));

        // A window of one part: the attachment's encoded octets from 10 on.
        var summary = (await inbox.FetchAsync([id], MessageSummaryItems.BodyStructure | MessageSummaryItems.UniqueId, ct))[0];
        var pdf = Assert.IsType<BodyPartMultipart>(summary.Body).BodyParts[1];
        var whole = await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, pdf, ct), ct);
        var part = await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, pdf, 10, 200, ct), ct);
        ByteAssert.AssertSameBytes(whole.AsSpan(10, 200).ToArray(), part, "BODY.PEEK[2]<10.200> ");
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Header_fields_and_preview_text_are_fetched_as_mailkit_asks()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var sent = InteropMessages.Rich(ImapInteropHost.Alice);
        sent.Headers.Add("X-Custom", "folded\r\n value");
        await InteropMessages.SendAsync(host.Smtp, sent, ImapInteropHost.Alice, ct);
        await host.SendAsync(InteropMessages.Plain(ImapInteropHost.Alice, "plain one", "A short plain body.\r\n"), ct);

        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);

        // BODY.PEEK[HEADER.FIELDS (SUBJECT X-CUSTOM REFERENCES)]: the fields present, decoded by MimeKit.
        var some = await inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.UniqueId, ["Subject", "X-Custom", "References"]), ct);
        Assert.Equal(2, some.Count);
        Assert.Equal(InteropMessages.EncodedSubject, some[0].Headers![MimeKit.HeaderId.Subject]);
        Assert.Equal("folded value", some[0].Headers!["X-Custom"]!.Replace("\r\n", "", StringComparison.Ordinal).Replace("  ", " ", StringComparison.Ordinal));
        Assert.Equal(2, some[0].Headers!.Count);
        Assert.Equal(["Subject"], some[1].Headers!.Select(h => h.Field));
        Assert.Contains("HEADER.FIELDS", log.Transcript, StringComparison.Ordinal);

        // BODY.PEEK[HEADER]: every field of the stored header, Received: first.
        var all = await inbox.FetchAsync(0, 0, new FetchRequest(MessageSummaryItems.UniqueId) { Headers = HeaderSet.All }, ct);
        var headers = all[0].Headers!;
        Assert.Equal("Received", headers[0].Field);
        Assert.Equal(sent.MessageId, MimeKit.Utils.MimeUtils.EnumerateReferences(headers[MimeKit.HeaderId.MessageId]!).Single());
        var stored = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", all[0].UniqueId.Id, ct);
        Assert.Equal(MimeKit.HeaderList.Load(new MemoryStream(stored)).Select(h => h.Field), headers.Select(h => h.Field));

        // MailKit's PreviewText: it fetches the start of the text part and decodes it.
        var previews = await inbox.FetchAsync(0, -1, MessageSummaryItems.PreviewText | MessageSummaryItems.UniqueId, ct);
        Assert.StartsWith("Hallo Alice, anbei der Bericht über das Quartal.", previews[0].PreviewText, StringComparison.Ordinal);
        Assert.Equal("A short plain body.", previews[1].PreviewText);
        // None of this set \Seen.
        Assert.All(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct), m => Assert.Equal(Storage.MessageFlags.None, m.Flags));
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task A_three_megabyte_delivery_downloads_intact_over_tls()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var payload = new byte[3 * 1024 * 1024];
        new Random(1234).NextBytes(payload);
        var message = InteropMessages.Plain(ImapInteropHost.Alice, "big");
        message.Body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "Three megabytes follow.\r\n" },
            new MimePart("application", "octet-stream") { Content = new MimeContent(new MemoryStream(payload)), ContentTransferEncoding = ContentEncoding.Base64, FileName = "big.bin" },
        };
        await host.SendAsync(message, ct);
        var info = Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct));
        var stored = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", info.Uid, ct);
        Assert.True(stored.Length > 4 * 1024 * 1024);

        using var client = await host.LoginAsync(implicitTls: true, cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var id = new UniqueId(inbox.UidValidity, info.Uid);
        ByteAssert.AssertSameBytes(stored, await InteropMessages.ReadAllAsync(await inbox.GetStreamAsync(id, ct), ct), "BODY.PEEK[] of 4 MB ");
        var summary = (await inbox.FetchAsync([id], MessageSummaryItems.BodyStructure | MessageSummaryItems.Size, ct))[0];
        Assert.Equal((ulong)stored.Length, (ulong)summary.Size!.Value);
        var part = Assert.IsType<MimePart>(await inbox.GetBodyPartAsync(id, summary.Attachments.Single(), ct));
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, ct);
        Assert.True(payload.AsSpan().SequenceEqual(decoded.ToArray()), "the decoded attachment differs from the one sent");
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Missing_folders_and_messages_are_refused_in_ways_mailkit_understands()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        var uid = (await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "one"), MessageFlags.None), ct))!.Value;

        // APPEND and COPY to a folder that does not exist: NO [TRYCREATE], which MailKit turns into FolderNotFoundException.
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        var ghost = (await personal.CreateAsync("Ghost", true, ct))!;
        await ghost.DeleteAsync(ct);
        await Assert.ThrowsAsync<FolderNotFoundException>(() => ghost.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "lost"), MessageFlags.None), ct));
        Assert.Contains("[TRYCREATE]", log.Transcript, StringComparison.Ordinal);
        // EXAMINE: NO [NONEXISTENT] (RFC 9051 §7.1), which MailKit raises as a failed command.
        await Assert.ThrowsAsync<ImapCommandException>(() => ghost.OpenAsync(FolderAccess.ReadOnly, ct));
        Assert.Contains("NO [NONEXISTENT]", log.Transcript, StringComparison.Ordinal);
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        await Assert.ThrowsAsync<FolderNotFoundException>(() => inbox.CopyToAsync([uid], ghost, ct));

        // UID FETCH of a UID that was never there: no data, OK. MailKit gets an empty list.
        Assert.Empty(await inbox.FetchAsync([new UniqueId(uid.Validity, uid.Id + 100)], MessageSummaryItems.Flags, ct));
        // A message number beyond the folder: BAD or NO, which MailKit raises.
        await Assert.ThrowsAnyAsync<ImapCommandException>(() => inbox.FetchAsync([5], MessageSummaryItems.Flags, ct));
        // The session goes on.
        Assert.Single(await inbox.FetchAsync(0, -1, MessageSummaryItems.Flags, ct));
        await client.DisconnectAsync(true, ct);
    }
}
