using System.Text.RegularExpressions;
using Mail.Protocols.Queue;
using MimeKit;
using MimeKit.Utils;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>What a delivery status notification reports about a recipient (RFC 3464 Action).</summary>
public enum DsnAction
{
    /// <summary>Delivery failed permanently.</summary>
    Failed,
    /// <summary>Delivery is delayed and will be retried.</summary>
    Delayed,
    /// <summary>Delivered.</summary>
    Delivered,
}

/// <summary>Builds delivery status notifications (RFC 3464, RFC 6522 multipart/report) with MimeKit.</summary>
public static partial class DeliveryStatusNotification
{
    /// <summary>
    /// How a notice is written out: with CRLF line ends whatever the platform (MimeKit's default is the platform's,
    /// LF on Linux), since mail on the wire and in the stores is CRLF (RFC 5321 §2.3.8) and a server refuses bare LF.
    /// </summary>
    private static FormatOptions WireFormat { get; } = CreateWireFormat();

    /// <summary>
    /// Writes <paramref name="notice"/> out (CRLF) and hands it to <paramref name="submit"/> for <paramref name="to"/>,
    /// with the null reverse path and NOTIFY=NEVER, so that a notice can never cause another.
    /// </summary>
    internal static async ValueTask SubmitAsync(MimeMessage notice, string to, DateTimeOffset at,
        Func<QueueEnvelope, Stream, CancellationToken, ValueTask> submit, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream();
        await notice.WriteToAsync(WireFormat, content, cancellationToken).ConfigureAwait(false);
        content.Position = 0;
        var envelope = new QueueEnvelope("", [new QueueRecipient(to, DsnNotify.Never)], at, SmtpUtf8: !System.Text.Ascii.IsValid(to));
        await submit(envelope, content, cancellationToken).ConfigureAwait(false);
    }

    private static FormatOptions CreateWireFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    /// <summary>
    /// Builds the notification for <paramref name="recipients"/> of a queued message. The original comes back
    /// whole unless the sender asked for headers only (RET=HDRS) or the notice is only a delay.
    /// </summary>
    /// <param name="reportingMta">This host's name.</param>
    /// <param name="envelope">The original envelope.</param>
    /// <param name="recipients">The recipients to report, with their last reply.</param>
    /// <param name="action">What happened to them.</param>
    /// <param name="original">The original message content (read from its start).</param>
    /// <param name="retryUntil">For delays: when delivery will be given up.</param>
    public static MimeMessage Build(string reportingMta, QueueEnvelope envelope, IReadOnlyList<RecipientStatus> recipients, DsnAction action, Stream original, DateTimeOffset? retryUntil = null)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(original);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", "MAILER-DAEMON@" + reportingMta));
        message.To.Add(MailboxAddress.Parse(envelope.ReversePath));
        message.Subject = action switch
        {
            DsnAction.Failed => "Undelivered Mail Returned to Sender",
            DsnAction.Delayed => "Delayed Mail (still being retried)",
            _ => "Successful Mail Delivery Report",
        };
        message.Headers.Add("Auto-Submitted", "auto-replied");

        var report = new MultipartReport("delivery-status");
        var list = string.Join("\n", recipients.Select(r => $"  <{Printable(r.Recipient.Address)}>: {Printable(r.LastReply ?? "no reply")}"));
        report.Add(new TextPart("plain")
        {
            Text = action switch
            {
                DsnAction.Failed => $"This is the mail system at {reportingMta}.\n\nYour message could not be delivered to these recipients; it was given up permanently:\n\n{list}\n",
                DsnAction.Delayed => $"This is the mail system at {reportingMta}.\n\nYour message has not been delivered yet to these recipients. Delivery will be tried again until {retryUntil:R}; you do not need to send it again:\n\n{list}\n",
                _ => $"This is the mail system at {reportingMta}.\n\nYour message was delivered to these recipients:\n\n{list}\n",
            },
        });

        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList { { "Reporting-MTA", "dns; " + reportingMta } };
        if (envelope.EnvelopeId is { } envid)
        {
            perMessage.Add("Original-Envelope-Id", Printable(envid));
        }
        perMessage.Add("Arrival-Date", DateUtils.FormatDate(envelope.ReceivedAt));
        status.StatusGroups.Add(perMessage);
        foreach (var recipient in recipients)
        {
            var group = new HeaderList();
            if (recipient.Recipient.OriginalRecipient is { } orcpt)
            {
                group.Add("Original-Recipient", Printable(orcpt.Replace(";", "; ", StringComparison.Ordinal)));
            }
            group.Add("Final-Recipient", "rfc822; " + Printable(recipient.Recipient.Address));
            group.Add("Action", action switch { DsnAction.Failed => "failed", DsnAction.Delayed => "delayed", _ => "delivered" });
            group.Add("Status", StatusCode(recipient.LastReply, action));
            if (recipient.RemoteHost is { } remote)
            {
                group.Add("Remote-MTA", "dns; " + Printable(remote));
            }
            if (recipient.LastReply is { } reply)
            {
                group.Add("Diagnostic-Code", "smtp; " + Printable(reply));
            }
            if (recipient.LastAttempt is { } attempt)
            {
                group.Add("Last-Attempt-Date", DateUtils.FormatDate(attempt));
            }
            if (action == DsnAction.Delayed && retryUntil is { } until)
            {
                group.Add("Will-Retry-Until", DateUtils.FormatDate(until));
            }
            status.StatusGroups.Add(group);
        }
        report.Add(status);

        original.Position = 0;
        var parsed = MimeMessage.Load(original);
        if (envelope.Return == DsnReturn.Headers || action != DsnAction.Failed)
        {
            var headersOnly = new MimeMessage();
            headersOnly.Headers.Clear();
            foreach (var header in parsed.Headers)
            {
                headersOnly.Headers.Add(header);
            }
            report.Add(new TextRfc822Headers { Message = headersOnly });
        }
        else
        {
            report.Add(new MessagePart { Message = parsed });
        }
        message.Body = report;
        return message;
    }

    // A queue entry an application built may hold control characters (refused by the SMTP client, reported here): shown
    // as \xHH so that they can neither end a header field nor pass unseen in the text.
    private static string Printable(string value)
    {
        if (!value.Any(char.IsControl))
        {
            return value;
        }
        var text = new System.Text.StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }

    // The first RFC 3463 code in the reply ("550 5.1.1 ...") whose class agrees with the action (RFC 3464 §2.3.4:
    // failed is 5, delayed 4, delivered 2), or the class's generic one. A message given up after temporary failures
    // has "451 4.4.1 ...; 5.4.7 delivery time expired": its status is 5.4.7, the 4.4.1 stays in Diagnostic-Code.
    internal static string StatusCode(string? reply, DsnAction action)
    {
        var wanted = action switch { DsnAction.Failed => '5', DsnAction.Delayed => '4', _ => '2' };
        if (reply is not null)
        {
            foreach (Match match in EnhancedCode().Matches(reply))
            {
                if (match.Value[0] == wanted)
                {
                    return match.Value;
                }
            }
        }
        return wanted + ".0.0";
    }

    // ASCII digits: .NET's \d is any Unicode digit (RFC 3463's status code is DIGITs, and a Status field is ASCII).
    [GeneratedRegex(@"\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b", RegexOptions.CultureInvariant)]
    private static partial Regex EnhancedCode();
}
