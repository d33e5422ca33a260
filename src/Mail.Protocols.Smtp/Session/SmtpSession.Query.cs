using System.Runtime.CompilerServices;
using System.Text;
using Mail.Protocols.Policy;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Users;

namespace Mail.Protocols.Smtp.Session;

// VRFY and EXPN (RFC 5321 §3.5), VERB and HELP: the commands that answer questions rather than move mail.
internal sealed partial class SmtpSession
{
    // VERB turns on the per-recipient report after DATA and BDAT LAST for the rest of the session (RSET keeps it).
    private bool _verbose;

    private void Verb(bool noArguments)
    {
        if (!noArguments)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return;
        }
        _verbose = true;
        Write(SmtpReplies.VerboseOn);
        Success();
    }

    // Without an argument, the commands this session answers: EXPN only when it may be answered truthfully to someone,
    // STARTTLS and AUTH only when EHLO would offer them now. With a command name, that command (RFC 5321 §4.1.1.8).
    private void Help(ReadOnlySpan<byte> argument)
    {
        switch (SmtpHelpTopics.Parse(argument, out var topic))
        {
            case SmtpHelpTopics.Request.Topic:
                HelpTopic(topic);
                return;
            case SmtpHelpTopics.Request.Unknown:
                Reject(SmtpRejectReason.HelpTopicUnknown);
                return;
            case SmtpHelpTopics.Request.Invalid:
                Reject(SmtpRejectReason.SyntaxError);
                return;
        }
        Write(SmtpReplies.HelpPrefix);
        if (Options.Expn != AddressQueryMode.Off)
        {
            Write(" EXPN"u8);
        }
        Write(" VERB"u8);
        if (Connection.CanStartTls)
        {
            Write(" STARTTLS"u8);
        }
        if (AuthAllowed && _user is null && _server.AuthMechanisms.Count > 0)
        {
            Write(" AUTH"u8);
        }
        Write(SmtpReplies.HelpEnd);
        Success();
    }

    // The command's syntax and description, then whether this client may use it now where that varies.
    private void HelpTopic(SmtpVerb topic)
    {
        Write(SmtpHelpTopics.Describe(topic));
        switch (topic)
        {
            case SmtpVerb.Vrfy:
                Write(MayAnswer(Options.Vrfy) ? SmtpHelpTopics.VrfyAnswered
                    : Options.Vrfy == AddressQueryMode.Authenticated ? SmtpHelpTopics.VrfyAfterAuth
                    : SmtpHelpTopics.VrfyOff);
                break;
            case SmtpVerb.Expn:
                Write(MayAnswer(Options.Expn) ? SmtpHelpTopics.ExpnAnswered
                    : Options.Expn == AddressQueryMode.Authenticated ? SmtpHelpTopics.ExpnAfterAuth
                    : SmtpHelpTopics.ExpnOff);
                break;
            case SmtpVerb.StartTls:
                Write(Connection.IsSecure ? SmtpHelpTopics.TlsActive : Connection.CanStartTls ? SmtpHelpTopics.TlsOffered : SmtpHelpTopics.TlsNotOffered);
                break;
            case SmtpVerb.Auth:
                Write(_user is not null ? SmtpHelpTopics.AuthDone
                    : _server.AuthMechanisms.Count == 0 ? SmtpHelpTopics.AuthNotOffered
                    : !AuthAllowed ? SmtpHelpTopics.AuthNeedsTls
                    : _server.Replies.HelpAuthMechanisms);
                break;
        }
        Write(SmtpHelpTopics.End);
        Success();
    }

    // One line of VERB's report: "250-2.0.0 " and the text, printable ASCII only.
    private void WriteVerboseReport(List<string> report)
    {
        foreach (var line in report)
        {
            Write(SmtpReplies.VerboseLinePrefix);
            WriteAscii(Sanitize(line));
            Write("\r\n"u8);
        }
    }

    private bool MayAnswer(AddressQueryMode mode) => mode == AddressQueryMode.On || (mode == AddressQueryMode.Authenticated && _user is not null);

    /// <summary>VRFY (<paramref name="expand"/> false) or EXPN: answered through the recipient policy, as RCPT would be.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> QueryAsync(int argumentsStart, bool expand)
    {
        var argument = IO.Line[argumentsStart..].Trim((byte)' ');
        if (argument.IsEmpty)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        var mode = expand ? Options.Expn : Options.Vrfy;
        if (!MayAnswer(mode))
        {
            if (expand)
            {
                Reject(mode == AddressQueryMode.Off ? SmtpRejectReason.NotImplemented : SmtpRejectReason.AuthRequired);
                return true;
            }
            Write(SmtpReplies.VrfyAmbiguous); // RFC 5321 §7.3: 252 when the server will not say
            Success();
            return true;
        }
        // The argument: an address, with or without angle brackets, or a bare local part (RFC 5321 §3.5.1).
        if (argument[0] == (byte)'<' && argument[^1] == (byte)'>' && argument.Length > 2)
        {
            argument = argument[1..^1];
        }
        if (argument.ContainsAnyExceptInRange((byte)'!', (byte)'~') || argument.IndexOfAny((byte)'<', (byte)'>') >= 0 || argument.Length > SmtpSyntax.MaxPath)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        var text = Encoding.ASCII.GetString(argument);
        // Enumeration: each question holds a slot of the address's failed-authentication budget while it is looked up,
        // as a login attempt does, so questions asked at once from many connections cannot pass the budget; an unknown
        // answer counts it. An address whose budget is spent gets nothing looked up.
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, null);
        if (attempt?.Refused is { } limit)
        {
            SmtpLog.RateLimited(_logger, Connection.Id, limit);
            CountRateLimited(limit);
            Reject(SmtpRejectReason.QueryRateLimited);
            return true;
        }
        _queryAttempt = attempt;
        try
        {
            return await AnswerQueryAsync(text, expand).ConfigureAwait(false);
        }
        finally
        {
            _queryAttempt = null;
        }
    }

    // The budget slot of the VRFY or EXPN being answered (null without rate limits).
    private AuthAttempt? _queryAttempt;

    private async ValueTask<bool> AnswerQueryAsync(string text, bool expand)
    {

        string address;
        RecipientDecision decision;
        if (text.Contains('@') || string.Equals(text, "postmaster", StringComparison.OrdinalIgnoreCase))
        {
            address = text;
            decision = await _server.Policy.EvaluateRecipientAsync(PolicyContext, text, Connection.Aborted).ConfigureAwait(false);
        }
        else
        {
            // A bare local part: looked up in each local domain; several matches are ambiguous (RFC 5321 §3.5.3).
            List<(string Address, RecipientDecision Decision)> matches = [];
            if (_server.Policy is DefaultRecipientPolicy policy)
            {
                foreach (var domain in policy.LocalDomains.Order(StringComparer.OrdinalIgnoreCase))
                {
                    var candidate = text + "@" + domain;
                    var found = await _server.Policy.EvaluateRecipientAsync(PolicyContext, candidate, Connection.Aborted).ConfigureAwait(false);
                    if (found.Route is RecipientRoute.Local or RecipientRoute.Expanded)
                    {
                        matches.Add((candidate, found));
                    }
                }
            }
            if (matches.Count == 0)
            {
                Unknown();
                return true;
            }
            if (matches.Count > 1)
            {
                Write(SmtpReplies.Ambiguous);
                for (var i = 0; i < matches.Count; i++)
                {
                    Write(i < matches.Count - 1 ? SmtpReplies.AmbiguousMorePrefix : SmtpReplies.AmbiguousLastPrefix);
                    WriteAscii(Sanitize(matches[i].Address));
                    Write(SmtpReplies.AddressSuffix);
                }
                Success();
                return true;
            }
            (address, decision) = matches[0];
        }

        switch (decision.Route)
        {
            case RecipientRoute.Relay:
                // Another domain this session may relay to: we cannot say whether the mailbox exists there.
                Write(SmtpReplies.VrfyAmbiguous);
                Success();
                return true;
            case RecipientRoute.Rejected when decision.Rejection is { EnhancedCode: "5.1.1" }:
                Unknown();
                return true;
            case RecipientRoute.Rejected when decision.Rejection is { EnhancedCode: "5.7.1" }:
                // Another domain this session may not relay to (RFC 5321 §3.4: 551 names where to try).
                WritePrefixed(SmtpReplies.NotLocalPrefix, address);
                Success();
                return true;
            case RecipientRoute.Rejected:
                RejectWith(decision.Rejection!); // a loop, an alias too wide, bad syntax: as RCPT would answer
                return true;
        }

        var destinations = decision.Destinations;
        if (destinations.Count == 0)
        {
            // A custom policy's local route that names no mailbox: the address is accepted here, and that is all we know.
            WritePrefixed(SmtpReplies.AddressFoundPrefix, address);
        }
        else if (expand)
        {
            // A mailing list shows its members as they are listed (RFC 5321 §3.5.2), without resolving them further.
            var shown = new List<string>(destinations.Count);
            foreach (var destination in destinations)
            {
                if (destination.List is { } list)
                {
                    shown.AddRange(list.Members);
                }
                else
                {
                    shown.Add(destination.ForwardTo ?? await AddressOfAsync(destination.LocalUser!, null).ConfigureAwait(false));
                }
            }
            for (var i = 0; i < shown.Count; i++)
            {
                WritePrefixed(i < shown.Count - 1 ? SmtpReplies.AddressFoundMorePrefix : SmtpReplies.AddressFoundPrefix, shown[i]);
            }
        }
        else if (destinations is [{ ForwardTo: { } target }])
        {
            WritePrefixed(SmtpReplies.WillForwardPrefix, target);
        }
        else if (destinations is [{ LocalUser: { } login }])
        {
            var canonical = await AddressOfAsync(login, address).ConfigureAwait(false);
            WritePrefixed(SmtpReplies.AddressFoundPrefix, canonical);
        }
        else
        {
            // Several destinations (some may forward): mail to the address is accepted here, so 250 with it.
            WritePrefixed(SmtpReplies.AddressFoundPrefix, address);
        }
        Success();
        return true;
    }

    // "550 5.1.1 User unknown", counted as a failed authentication of the client's address (and as an error).
    private void Unknown()
    {
        if (_queryAttempt?.Failed().Address == true)
        {
            CountLockout(SessionRateLimit.AuthFailuresPerAddress);
        }
        Reject(SmtpRejectReason.UserUnknown);
    }

    private void WritePrefixed(ReadOnlySpan<byte> prefix, string address)
    {
        Write(prefix);
        WriteAscii(Sanitize(address));
        Write(SmtpReplies.AddressSuffix);
    }

    // A user's full address as the directory spells it: the one that matches what was asked, else the first one.
    private async ValueTask<string> AddressOfAsync(string login, string? asked)
    {
        if (await _server.Users.FindByLoginAsync(login, Connection.Aborted).ConfigureAwait(false) is not { } user || user.Addresses.Count == 0)
        {
            return login;
        }
        if (asked is not null)
        {
            foreach (var address in user.Addresses)
            {
                if (UserName.Comparer.Equals(address, asked))
                {
                    return address;
                }
            }
        }
        return user.Addresses[0];
    }
}
