namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// ID's arguments (RFC 2971 §4): <c>id = "ID" SP id-params-list</c>,
/// <c>id-params-list = "(" *(string SP nstring) ")" / nil</c>, with the RFC's bounds: at most 30 pairs, a field name
/// at most 30 octets, a value at most 1024 octets.
/// </summary>
/// <param name="Fields">The client's fields in order (a value may be null for NIL); null when the client sent NIL.</param>
internal sealed record IdArguments(IReadOnlyList<KeyValuePair<string, string?>>? Fields)
{
    public const int MaxPairs = 30, MaxFieldLength = 30, MaxValueLength = 1024;

    public static IdArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        if (reader.TryReadNil())
        {
            reader.ReadEnd();
            return new IdArguments(Fields: null);
        }
        var fields = new List<KeyValuePair<string, string?>>();
        reader.ReadOpenParen("Expected a list of ID fields or NIL");
        if (!reader.TryReadCloseParen())
        {
            do
            {
                if (fields.Count == MaxPairs)
                {
                    ImapParseException.Throw("More than 30 ID fields");
                }
                var field = reader.ReadStringOctets();
                if (field.Length > MaxFieldLength)
                {
                    ImapParseException.Throw("ID field name longer than 30 octets");
                }
                var name = ImapReader.DecodeUtf8(field);
                reader.ReadSpace();
                var value = reader.ReadNStringOctets(out var isNil);
                if (value.Length > MaxValueLength)
                {
                    ImapParseException.Throw("ID value longer than 1024 octets");
                }
                fields.Add(new(name, isNil ? null : ImapReader.DecodeUtf8(value)));
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen();
        }
        reader.ReadEnd();
        return new IdArguments(fields);
    }
}
