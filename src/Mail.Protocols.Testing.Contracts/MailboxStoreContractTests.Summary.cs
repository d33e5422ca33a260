using System.Text;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// The MIME summary IMAP's ENVELOPE, BODYSTRUCTURE and BODY[section] are answered from: header values as they are in
// the message, and offsets that slice the stored content into exactly each section.
public abstract partial class MailboxStoreContractTests
{
    /// <summary>Encoded words, folded fields, multipart/alternative inside mixed and an embedded message/rfc822.</summary>
    protected static readonly byte[] s_nested = Encoding.UTF8.GetBytes(
        "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\r\n" +
        "To: \"Smith, =?utf-8?q?Ann?=\" <ann@example.test>,\r\n\tcarl@example.test\r\n" +
        "Cc: Team: dora@example.test;\r\n" +
        "Subject: =?utf-8?q?caf=C3=A9?=\r\n  and  more\r\n" +
        "Date: Sun, 29 Nov 2026\r\n 12:00:00 +0000\r\n" +
        "Message-ID: <m1@example.org>\r\n" +
        "In-Reply-To: <m0@example.org>\r\n" +
        "Sender:\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
        "\r\n" +
        "preamble\r\n" +
        "--outer\r\n" +
        "Content-Type: multipart/alternative; boundary=\"alt\"\r\n" +
        "\r\n" +
        "--alt\r\n" +
        "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n" +
        "\r\n" +
        "plain line 1\r\nplain line 2\r\n" +
        "--alt\r\n" +
        "Content-Type: text/html; charset=utf-8;\r\n name=\"=?utf-8?q?caf=C3=A9?=.html\";\r\n title*0*=utf-8''caf%C3%A9; title*1*=%20menu\r\n" +
        "Content-ID: <html@example.org>\r\n" +
        "Content-Language: en, de\r\n" +
        "Content-Location: http://example.org/a.html\r\n" +
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n" +
        "Content-Transfer-Encoding: quoted-printable\r\n" +
        "\r\n" +
        "<p>hi</p>\r\n" +
        "--alt--\r\n" +
        "\r\n" +
        "--outer\r\n" +
        "Content-Type: message/rfc822\r\n" +
        "Content-Description: =?utf-8?q?Weitergeleitet?=\r\n" +
        "Content-Disposition: inline; size=100; filename=\"fwd.eml\"\r\n" +
        "\r\n" +
        "From: inner@example.org\r\n" +
        "Subject: inner\r\n" +
        "Content-Type: text/plain\r\n" +
        "\r\n" +
        "inner body\r\nsecond line\r\n" +
        "--outer--\r\n" +
        "epilogue\r\n");

    private static string Slice(long start, long end) => Encoding.UTF8.GetString(s_nested, (int)start, (int)(end - start));

    private async Task<MessageSummary> NestedSummaryAsync()
    {
        var store = CreateStore();
        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(s_nested));
        return await store.GetSummaryAsync(User, "INBOX", appended.Uid);
    }

    [Fact]
    public async Task Envelope_values_are_as_in_the_message_with_encoded_words_kept_and_folding_line_breaks_removed()
    {
        var envelope = (await NestedSummaryAsync()).Envelope;

        Assert.Equal("=?utf-8?q?caf=C3=A9?=  and  more", envelope.Subject); // only the CRLF of the fold goes
        Assert.Equal("Sun, 29 Nov 2026 12:00:00 +0000", envelope.Date);
        Assert.Equal("<m1@example.org>", envelope.MessageId);
        Assert.Equal("<m0@example.org>", envelope.InReplyTo);
        Assert.Equal([new EnvelopeAddress("=?utf-8?q?J=C3=B6rg?=", null, "jorg", "example.org")], envelope.From);
        Assert.Equal(envelope.From, envelope.Sender); // present but empty: the From addresses (RFC 9051 §7.5.2)
        Assert.Equal(envelope.From, envelope.ReplyTo); // absent
        Assert.Equal(
            [new EnvelopeAddress("Smith, =?utf-8?q?Ann?=", null, "ann", "example.test"), new EnvelopeAddress(null, null, "carl", "example.test")],
            envelope.To); // quoting removed, encoded word kept, the folded list read whole
        Assert.Equal(
            [new EnvelopeAddress(null, null, "Team", null), new EnvelopeAddress(null, null, "dora", "example.test"), new EnvelopeAddress(null, null, null, null)],
            envelope.Cc);
        Assert.Empty(envelope.Bcc);
    }

    [Fact]
    public async Task Offsets_slice_every_part_header_and_body_down_to_an_embedded_message()
    {
        var summary = await NestedSummaryAsync();
        var text = Encoding.UTF8.GetString(s_nested);

        // BODY[HEADER] and BODY[TEXT] of the message.
        Assert.Equal(text[..(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)], Slice(0, summary.BodyOffset));
        Assert.StartsWith("preamble\r\n--outer\r\n", Slice(summary.BodyOffset, s_nested.Length), StringComparison.Ordinal);

        var mixed = summary.Body;
        Assert.Equal(("multipart", "mixed"), (mixed.MediaType, mixed.MediaSubtype));
        Assert.Equal([new("boundary", "outer")], mixed.Parameters);
        Assert.Equal(2, mixed.Children.Count);

        // 1: multipart/alternative inside mixed.
        var alternative = mixed.Children[0];
        Assert.Equal(("multipart", "alternative"), (alternative.MediaType, alternative.MediaSubtype));
        Assert.Equal("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n", Slice(alternative.HeaderOffset, alternative.BodyOffset));
        Assert.StartsWith("--alt\r\n", Slice(alternative.BodyOffset, alternative.EndOffset), StringComparison.Ordinal);
        Assert.EndsWith("--alt--\r\n", Slice(alternative.BodyOffset, alternative.EndOffset), StringComparison.Ordinal);

        // 1.1: text/plain, its parameters in the order of the message, two lines.
        var plain = alternative.Children[0];
        Assert.Equal("Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n", Slice(plain.HeaderOffset, plain.BodyOffset));
        Assert.Equal("plain line 1\r\nplain line 2", Slice(plain.BodyOffset, plain.EndOffset));
        Assert.Equal([new("charset", "utf-8"), new("format", "flowed"), new("delsp", "yes")], plain.Parameters);
        Assert.Equal("7bit", plain.TransferEncoding);
        Assert.Equal(2, plain.Lines);
        Assert.Equal(26, plain.BodySize);

        // 1.2: text/html with everything BODYSTRUCTURE's extension data has.
        var html = alternative.Children[1];
        Assert.Equal(("text", "html"), (html.MediaType, html.MediaSubtype));
        Assert.Equal("<p>hi</p>", Slice(html.BodyOffset, html.EndOffset));
        Assert.StartsWith("Content-Type: text/html; charset=utf-8;\r\n name=", Slice(html.HeaderOffset, html.BodyOffset), StringComparison.Ordinal);
        // Parameters as in the message: the encoded word kept, the RFC 2231 sections joined but not decoded.
        Assert.Equal([new("charset", "utf-8"), new("name", "=?utf-8?q?caf=C3=A9?=.html"), new("title*", "utf-8''caf%C3%A9%20menu")], html.Parameters);
        Assert.Equal("<html@example.org>", html.ContentId);
        Assert.Equal(["en", "de"], html.Languages);
        Assert.Equal("http://example.org/a.html", html.Location);
        Assert.Equal("Q2hlY2sgSW50ZWdyaXR5IQ==", html.Md5);
        Assert.Equal("quoted-printable", html.TransferEncoding);
        Assert.Equal(1, html.Lines);

        // 2: message/rfc822: its MIME header, the embedded message's header and text, and the embedded body.
        var forwarded = mixed.Children[1];
        Assert.Equal(("message", "rfc822"), (forwarded.MediaType, forwarded.MediaSubtype));
        Assert.Equal("=?utf-8?q?Weitergeleitet?=", forwarded.Description);
        Assert.Equal("inline", forwarded.Disposition);
        Assert.Equal([new("size", "100"), new("filename", "fwd.eml")], forwarded.DispositionParameters);
        Assert.StartsWith("Content-Type: message/rfc822\r\n", Slice(forwarded.HeaderOffset, forwarded.BodyOffset), StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", Slice(forwarded.HeaderOffset, forwarded.BodyOffset), StringComparison.Ordinal);
        const string Inner = "From: inner@example.org\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\ninner body\r\nsecond line";
        Assert.Equal(Inner, Slice(forwarded.BodyOffset, forwarded.EndOffset));
        Assert.Equal(6, forwarded.Lines); // lines of the embedded message, header included
        Assert.NotNull(forwarded.MessageBodyOffset);
        Assert.Equal("From: inner@example.org\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n", Slice(forwarded.BodyOffset, forwarded.MessageBodyOffset.Value));
        Assert.Equal("inner body\r\nsecond line", Slice(forwarded.MessageBodyOffset.Value, forwarded.EndOffset));
        Assert.Equal("inner", forwarded.MessageEnvelope!.Subject);
        Assert.Equal([new EnvelopeAddress(null, null, "inner", "example.org")], forwarded.MessageEnvelope.From);
        var innerBody = forwarded.Message!;
        Assert.Equal(("text", "plain"), (innerBody.MediaType, innerBody.MediaSubtype));
        Assert.Equal("inner body\r\nsecond line", Slice(innerBody.BodyOffset, innerBody.EndOffset));
        Assert.Equal(2, innerBody.Lines);
    }

    [Fact]
    public async Task A_message_that_is_not_multipart_has_its_body_from_the_end_of_its_header()
    {
        var store = CreateStore();
        var raw = "Subject: one part\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nline 1\r\nline 2\r\nline 3\r\n"u8.ToArray();
        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(raw));
        var summary = await store.GetSummaryAsync(User, "INBOX", appended.Uid);

        Assert.Equal(raw.Length - 24, summary.BodyOffset);
        Assert.Equal(summary.BodyOffset, summary.Body.BodyOffset);
        Assert.Equal(raw.Length, summary.Body.EndOffset);
        Assert.Equal(24, summary.Body.BodySize);
        Assert.Equal(3, summary.Body.Lines);
        Assert.Empty(summary.Envelope.From);
        Assert.Equal("one part", summary.Envelope.Subject);
    }

    /// <summary>A message whose header values are Latin-1, not UTF-8 (8-bit octets in a Subject, a display name, a parameter).</summary>
    protected static readonly byte[] s_latin1Headers = Encoding.Latin1.GetBytes(
        "From: Jos\u00e9 Mu\u00f1oz <jose@example.es>\r\n" +
        "Subject: r\u00e9sum\u00e9 \u00e0 envoyer\r\n" +
        "Content-Type: text/plain; charset=iso-8859-1; name=\"r\u00e9sum\u00e9.txt\"\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Voil\u00e0.\r\n");

    /// <summary>Asserts that the summary of <see cref="s_latin1Headers"/> has the message's octets (<see cref="EscapedOctets"/>).</summary>
    protected static void AssertLatin1HeaderOctets(MessageSummary summary)
    {
        Assert.Equal(Encoding.Latin1.GetBytes("r\u00e9sum\u00e9 \u00e0 envoyer"), EscapedOctets.GetBytes(summary.Envelope.Subject!));
        Assert.Equal(Encoding.Latin1.GetBytes("Jos\u00e9 Mu\u00f1oz"), EscapedOctets.GetBytes(Assert.Single(summary.Envelope.From).Name!));
        Assert.Equal(Encoding.Latin1.GetBytes("r\u00e9sum\u00e9.txt"), EscapedOctets.GetBytes(summary.Body.Parameters[1].Value));
    }

    // Header values hold the message's octets: octets that are not UTF-8 are kept as EscapedOctets escapes, not read as
    // Latin-1 (which IMAP's ENVELOPE would then send as UTF-8, other octets than the message's).
    [Fact]
    public async Task Header_octets_that_are_not_utf8_are_kept_as_they_are()
    {
        var store = CreateStore();
        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(s_latin1Headers));
        AssertLatin1HeaderOctets(await store.GetSummaryAsync(User, "INBOX", appended.Uid));
        AssertLatin1HeaderOctets(Assert.Single(await store.GetSummariesAsync(User, "INBOX", [appended.Uid])).Summary);
    }

    // MessageSummary.Header is optional (IMAP reads the content without it), but when a store's summary claims the whole
    // header (HasHeader) its octets must be the content's first BodyOffset octets: IMAP sends them as BODY[HEADER].
    [Fact]
    public async Task A_header_the_summary_holds_is_the_first_octets_of_the_content()
    {
        var store = CreateStore();
        var messages = new[] { s_nested, s_latin1Headers, "no header at all\r\n"u8.ToArray(), "Subject: no blank line\r\n"u8.ToArray() };
        var uids = new List<uint>();
        foreach (var message in messages)
        {
            uids.Add((await store.AppendAsync(User, "INBOX", new MemoryStream(message))).Uid);
        }
        var entries = await store.GetSummariesAsync(User, "INBOX", uids);
        for (var i = 0; i < messages.Length; i++)
        {
            foreach (var summary in new[] { entries[i].Summary, await store.GetSummaryAsync(User, "INBOX", uids[i]) })
            {
                if (summary.HasHeader)
                {
                    Assert.Equal(messages[i].AsSpan(0, (int)summary.BodyOffset).ToArray(), summary.Header!.Value.ToArray());
                }
            }
        }
    }
}
