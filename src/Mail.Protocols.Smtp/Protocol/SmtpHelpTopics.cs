using System.Buffers;

namespace Mail.Protocols.Smtp.Protocol;

/// <summary>
/// The text of <c>HELP &lt;command&gt;</c> (RFC 5321 §4.1.1.8): for each command the session answers, its syntax and
/// what it does, as <c>214-2.0.0</c> lines compiled into the assembly. The session adds a line on whether the command
/// is available to this client (VRFY, EXPN, STARTTLS, AUTH) and the closing <see cref="End"/> line.
/// </summary>
internal static class SmtpHelpTopics
{
    private static readonly SearchValues<byte> WhiteSpace = SearchValues.Create(" \t"u8);

    public static ReadOnlySpan<byte> End => "214 2.0.0 End of HELP info\r\n"u8;

    // RFC 5321 §4.3.2 lists 504 (command parameter not implemented) among HELP's errors: the topic is a parameter we do not know.
    public static ReadOnlySpan<byte> Unknown => "504 5.5.4 HELP topic not recognized\r\n"u8;

    public static ReadOnlySpan<byte> VrfyAnswered => "214-2.0.0 Answered in this session.\r\n"u8;
    public static ReadOnlySpan<byte> VrfyAfterAuth => "214-2.0.0 Answered after AUTH only; before that every address gets 252.\r\n"u8;
    public static ReadOnlySpan<byte> VrfyOff => "214-2.0.0 Not answered on this server: every address gets 252.\r\n"u8;
    public static ReadOnlySpan<byte> ExpnAnswered => "214-2.0.0 Answered in this session.\r\n"u8;
    public static ReadOnlySpan<byte> ExpnAfterAuth => "214-2.0.0 Answered after AUTH only; before that it gets 530.\r\n"u8;
    public static ReadOnlySpan<byte> ExpnOff => "214-2.0.0 Switched off on this server: it gets 502.\r\n"u8;
    public static ReadOnlySpan<byte> TlsActive => "214-2.0.0 This connection already uses TLS.\r\n"u8;
    public static ReadOnlySpan<byte> TlsOffered => "214-2.0.0 Offered on this connection.\r\n"u8;
    public static ReadOnlySpan<byte> TlsNotOffered => "214-2.0.0 Not offered on this connection.\r\n"u8;
    public static ReadOnlySpan<byte> AuthDone => "214-2.0.0 This session has already authenticated.\r\n"u8;
    public static ReadOnlySpan<byte> AuthNeedsTls => "214-2.0.0 Offered only on a TLS connection.\r\n"u8;
    public static ReadOnlySpan<byte> AuthNotOffered => "214-2.0.0 Not offered on this server.\r\n"u8;

    /// <summary>What the argument of HELP asks for.</summary>
    public enum Request
    {
        /// <summary>No argument, or only white space: the list of commands.</summary>
        List,
        /// <summary>A command this session answers; <c>topic</c> says which.</summary>
        Topic,
        /// <summary>Printable, but not the name of one command: 504.</summary>
        Unknown,
        /// <summary>Control characters or octets outside ASCII: 501.</summary>
        Invalid,
    }

    /// <summary>Reads HELP's argument: one command name in any case, with white space around it.</summary>
    public static Request Parse(ReadOnlySpan<byte> argument, out SmtpVerb topic)
    {
        topic = SmtpVerb.Unknown;
        var trimmed = argument.Trim(" \t"u8);
        if (trimmed.IsEmpty)
        {
            return Request.List;
        }
        foreach (var b in trimmed)
        {
            if ((b < 0x20 && b != (byte)'\t') || b >= 0x7f)
            {
                return Request.Invalid;
            }
        }
        // The verb table that dispatches commands names the topics too; a second word ("MAIL FROM") is not a topic.
        topic = SmtpVerbs.Parse(trimmed, out var rest);
        if (topic == SmtpVerb.Unknown || !rest.IsEmpty || trimmed.ContainsAny(WhiteSpace))
        {
            topic = SmtpVerb.Unknown;
            return Request.Unknown;
        }
        return Request.Topic;
    }

    /// <summary>The syntax and description lines of one command, without the availability line and the end line.</summary>
    public static ReadOnlySpan<byte> Describe(SmtpVerb topic) => topic switch
    {
        SmtpVerb.Helo => "214-2.0.0 HELO <domain>\r\n214-2.0.0 Greets the server with the client's name; plain SMTP, no extensions.\r\n"u8,
        SmtpVerb.Ehlo => "214-2.0.0 EHLO <domain>\r\n214-2.0.0 Greets the server with the client's name; the reply lists the extensions on offer.\r\n"u8,
        SmtpVerb.Mail => "214-2.0.0 MAIL FROM:<reverse-path> [SIZE=<octets>] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8] [RET=FULL|HDRS] [ENVID=<xtext>] [AUTH=<mailbox>]\r\n214-2.0.0 Starts a mail transaction from that sender; <> is the null sender of a bounce.\r\n"u8,
        SmtpVerb.Rcpt => "214-2.0.0 RCPT TO:<forward-path> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] [ORCPT=<type>;<xtext>]\r\n214-2.0.0 Adds one recipient to the transaction; send it once per recipient.\r\n"u8,
        SmtpVerb.Data => "214-2.0.0 DATA\r\n214-2.0.0 After the 354 reply, send the message and end it with a line holding only \".\".\r\n"u8,
        SmtpVerb.Bdat => "214-2.0.0 BDAT <octets> [LAST]\r\n214-2.0.0 Sends exactly that many octets of the message; LAST marks the final chunk (RFC 3030).\r\n"u8,
        SmtpVerb.Rset => "214-2.0.0 RSET\r\n214-2.0.0 Abandons the mail transaction in progress; the greeting and any login stay.\r\n"u8,
        SmtpVerb.Noop => "214-2.0.0 NOOP [<text>]\r\n214-2.0.0 Does nothing but answer 250.\r\n"u8,
        SmtpVerb.Quit => "214-2.0.0 QUIT\r\n214-2.0.0 Ends the session: the server answers 221 and closes the connection.\r\n"u8,
        SmtpVerb.Help => "214-2.0.0 HELP [<command>]\r\n214-2.0.0 Lists the commands, or describes one of them.\r\n"u8,
        SmtpVerb.Vrfy => "214-2.0.0 VRFY <address> | VRFY <local-part>\r\n214-2.0.0 Asks whether mail to an address is delivered here, and to which mailbox.\r\n"u8,
        SmtpVerb.Expn => "214-2.0.0 EXPN <address>\r\n214-2.0.0 Lists the mailboxes and addresses an alias or list delivers to.\r\n"u8,
        SmtpVerb.Verb => "214-2.0.0 VERB\r\n214-2.0.0 For the rest of the session, the reply that accepts a message reports what was done for each recipient.\r\n"u8,
        SmtpVerb.StartTls => "214-2.0.0 STARTTLS\r\n214-2.0.0 Starts TLS after the 220 reply; the client then sends EHLO again (RFC 3207).\r\n"u8,
        SmtpVerb.Auth => "214-2.0.0 AUTH <mechanism> [<initial-response>]\r\n214-2.0.0 Logs in with a SASL mechanism (RFC 4954); \"*\" cancels an exchange in progress.\r\n"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "Not a HELP topic."),
    };
}
