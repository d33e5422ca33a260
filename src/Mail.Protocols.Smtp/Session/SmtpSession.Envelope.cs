using System.Runtime.CompilerServices;
using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;

namespace Mail.Protocols.Smtp.Session;

// MAIL FROM and RCPT TO: the envelope half of a transaction.
internal sealed partial class SmtpSession
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MailAsync(int argumentsStart)
    {
        if (_heloName is null)
        {
            Reject(SmtpRejectReason.NeedHelo);
            return true;
        }
        if (_role == SmtpRole.Submission && _user is null)
        {
            Reject(AuthAllowed || !Connection.CanStartTls ? SmtpRejectReason.AuthRequired : SmtpRejectReason.TlsRequired);
            return true;
        }
        if (_transaction is not null)
        {
            Reject(SmtpRejectReason.NestedMail);
            return true;
        }
        // Messages per authenticated user (SessionRateLimits): refused here, before the body is sent, and counted only
        // when a message is accepted at the end of its data, so that a refused or abandoned transaction costs nothing.
        if (_user is not null && Options.RateLimits is { } limits && !limits.MaySend(_user.Login))
        {
            SmtpLog.RateLimited(_logger, Connection.Id, RateLimits.SessionRateLimit.MessagesPerUser);
            CountRateLimited(RateLimits.SessionRateLimit.MessagesPerUser);
            Reject(SmtpRejectReason.MessageRateLimited);
            return true;
        }

        // Everything is parsed from the pooled line before the first await.
        var arguments = IO.Line[argumentsStart..];
        var status = SmtpSyntax.TryParsePathArgument(arguments, "FROM:"u8, allowNull: true, allowUtf8: true, out var reversePath, out var parameters);
        var smtpUtf8 = false;
        if (status == SmtpPathStatus.Ok)
        {
            // A logged-in user sends as one of their addresses; <> would skip that check. Bounces from other
            // servers arrive unauthenticated, and the server's own notifications do not come through a session.
            if (reversePath.Length == 0 && _user is not null)
            {
                Reject(SmtpRejectReason.NullSenderAuthenticated);
                return true;
            }
            var transaction = new Transaction(reversePath);
            var parameterError = ParseMailParameters(parameters, transaction);
            if (parameterError is { } error)
            {
                Reject(error);
                return true;
            }
            smtpUtf8 = transaction.SmtpUtf8;
            if (!smtpUtf8 && !Ascii.IsValid(reversePath))
            {
                Reject(SmtpRejectReason.NeedsSmtpUtf8);
                return true;
            }
            if (transaction.DeclaredSize > Options.MaxMessageSize)
            {
                Reject(SmtpRejectReason.MessageTooLarge);
                return true;
            }
            var decision = await _server.Policy.EvaluateSenderAsync(PolicyContext, reversePath, Connection.Aborted).ConfigureAwait(false);
            if (decision.Rejection is { } rejection)
            {
                RejectWith(rejection);
                return true;
            }
            if (Hooks is { } hooks && await hooks.OnMailFromAsync(SessionInfo, reversePath, Connection.Aborted).ConfigureAwait(false) is { } hookReply)
            {
                return ReplyFromHook(hookReply);
            }
            _transaction = transaction;
            Write(SmtpReplies.SenderOk);
            Success();
            return true;
        }
        Reject(status switch
        {
            SmtpPathStatus.TooLong => SmtpRejectReason.AddressTooLong,
            SmtpPathStatus.NeedsSmtpUtf8 => SmtpRejectReason.NeedsSmtpUtf8,
            SmtpPathStatus.Syntax => SmtpRejectReason.SyntaxError,
            _ => SmtpRejectReason.BadSenderSyntax,
        });
        return true;
    }

    private SmtpRejectReason? ParseMailParameters(ReadOnlySpan<byte> parameters, Transaction transaction)
    {
        while (!parameters.IsEmpty)
        {
            if (!SmtpSyntax.TryReadParameter(ref parameters, out var keyword, out var value))
            {
                return SmtpRejectReason.SyntaxError;
            }
            if (Ascii.EqualsIgnoreCase(keyword, "SIZE"u8))
            {
                if (!Utf8Parser.TryParse(value, out long size, out var used) || used != value.Length || size < 0)
                {
                    return SmtpRejectReason.BadParameter;
                }
                transaction.DeclaredSize = size;
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "BODY"u8))
            {
                if (Ascii.EqualsIgnoreCase(value, "7BIT"u8))
                {
                    transaction.Body = MessageBodyType.SevenBit;
                }
                else if (Ascii.EqualsIgnoreCase(value, "8BITMIME"u8))
                {
                    transaction.Body = MessageBodyType.EightBitMime;
                }
                else if (Ascii.EqualsIgnoreCase(value, "BINARYMIME"u8))
                {
                    transaction.Body = MessageBodyType.BinaryMime;
                }
                else
                {
                    return SmtpRejectReason.BadParameter;
                }
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "SMTPUTF8"u8) && value.IsEmpty)
            {
                transaction.SmtpUtf8 = true;
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "RET"u8))
            {
                transaction.Return = Ascii.EqualsIgnoreCase(value, "FULL"u8) ? DsnReturn.Full
                    : Ascii.EqualsIgnoreCase(value, "HDRS"u8) ? DsnReturn.Headers
                    : DsnReturn.Unspecified;
                if (transaction.Return == DsnReturn.Unspecified)
                {
                    return SmtpRejectReason.BadParameter;
                }
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "ENVID"u8))
            {
                if (value.Length > 100 || !SmtpSyntax.IsXtext(value))
                {
                    return SmtpRejectReason.BadParameter;
                }
                transaction.EnvelopeId = Encoding.ASCII.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "AUTH"u8))
            {
                // RFC 4954 §5: accepted and not trusted; we do not relay AUTH= identities.
            }
            else
            {
                return SmtpRejectReason.UnknownParameter;
            }
        }
        return null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RcptAsync(int argumentsStart)
    {
        if (_transaction is not { } transaction)
        {
            Reject(_heloName is null ? SmtpRejectReason.NeedHelo : SmtpRejectReason.NeedMail);
            return true;
        }
        if (transaction.Spool is not null)
        {
            Reject(SmtpRejectReason.RecipientAfterData);
            return true;
        }
        var arguments = IO.Line[argumentsStart..];
        var status = SmtpSyntax.TryParsePathArgument(arguments, "TO:"u8, allowNull: false, allowUtf8: transaction.SmtpUtf8, out var address, out var parameters);
        if (status != SmtpPathStatus.Ok)
        {
            Reject(status switch
            {
                SmtpPathStatus.TooLong => SmtpRejectReason.AddressTooLong,
                SmtpPathStatus.NeedsSmtpUtf8 => SmtpRejectReason.NeedsSmtpUtf8,
                SmtpPathStatus.Syntax => SmtpRejectReason.SyntaxError,
                _ => SmtpRejectReason.BadRecipientSyntax,
            });
            return true;
        }
        var notify = DsnNotify.Unspecified;
        string? orcpt = null;
        while (!parameters.IsEmpty)
        {
            if (!SmtpSyntax.TryReadParameter(ref parameters, out var keyword, out var value))
            {
                Reject(SmtpRejectReason.SyntaxError);
                return true;
            }
            if (Ascii.EqualsIgnoreCase(keyword, "NOTIFY"u8))
            {
                if (!TryParseNotify(value, out notify))
                {
                    Reject(SmtpRejectReason.BadParameter);
                    return true;
                }
            }
            else if (Ascii.EqualsIgnoreCase(keyword, "ORCPT"u8))
            {
                var semicolon = value.IndexOf((byte)';');
                if (semicolon <= 0 || value.Length > 500 || !SmtpSyntax.IsXtext(value[(semicolon + 1)..]))
                {
                    Reject(SmtpRejectReason.BadParameter);
                    return true;
                }
                orcpt = Encoding.ASCII.GetString(value);
            }
            else
            {
                Reject(SmtpRejectReason.UnknownParameter);
                return true;
            }
        }
        if (transaction.Recipients.Count >= Options.MaxRecipients)
        {
            // RFC 5321 §4.5.3.1.10: the client goes on with the recipients accepted so far; not an error.
            Reject(SmtpRejectReason.TooManyRecipients, countsAsError: false);
            return true;
        }

        var decision = await _server.Policy.EvaluateRecipientAsync(PolicyContext, address, Connection.Aborted).ConfigureAwait(false);
        if (decision.Route == RecipientRoute.Rejected)
        {
            SmtpLog.RecipientRejected(_logger, Connection.Id, decision.Rejection!.Code);
            RejectWith(decision.Rejection!);
            return true;
        }
        if (Hooks is { } hooks && await hooks.OnRecipientAsync(SessionInfo, address, Connection.Aborted).ConfigureAwait(false) is { } hookReply)
        {
            return ReplyFromHook(hookReply);
        }
        // A local or expanded recipient goes to its destinations; a relayed one (or a decision that names none) to the queue as it is.
        var destinations = decision.Route is RecipientRoute.Local or RecipientRoute.Expanded && decision.Destinations.Count > 0 ? decision.Destinations : null;
        if (decision.Route == RecipientRoute.Expanded && _logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
        {
            var forwards = decision.Destinations.Count(d => d.ForwardTo is not null);
            SmtpLog.RecipientExpanded(_logger, Connection.Id, decision.Destinations.Count - forwards, forwards);
        }
        transaction.Recipients.Add((new QueueRecipient(address, notify, orcpt), destinations));
        Write(SmtpReplies.RecipientOk);
        Success();
        return true;
    }

    private static bool TryParseNotify(ReadOnlySpan<byte> value, out DsnNotify notify)
    {
        notify = DsnNotify.Unspecified;
        foreach (var range in value.Split((byte)','))
        {
            var item = value[range];
            if (Ascii.EqualsIgnoreCase(item, "NEVER"u8))
            {
                notify |= DsnNotify.Never;
            }
            else if (Ascii.EqualsIgnoreCase(item, "SUCCESS"u8))
            {
                notify |= DsnNotify.Success;
            }
            else if (Ascii.EqualsIgnoreCase(item, "FAILURE"u8))
            {
                notify |= DsnNotify.Failure;
            }
            else if (Ascii.EqualsIgnoreCase(item, "DELAY"u8))
            {
                notify |= DsnNotify.Delay;
            }
            else
            {
                return false;
            }
        }
        // RFC 3461 §4.1: NEVER cannot be combined with the others.
        return notify != DsnNotify.Unspecified && (notify == DsnNotify.Never || (notify & DsnNotify.Never) == 0);
    }
}
