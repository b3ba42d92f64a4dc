using System.Globalization;

namespace ObservaCost.Storage.LineProtocol;

public enum FieldKind : byte
{
    Float,
    Integer,
    Boolean,
    String,
}

/// <summary>A field value of one of line protocol's four types.</summary>
public readonly record struct FieldValue
{
    private FieldValue(FieldKind kind, double f, long i, string? s)
    {
        Kind = kind;
        Float = f;
        Integer = i;
        String = s;
    }

    public FieldKind Kind { get; }

    public double Float { get; }

    public long Integer { get; }

    public string? String { get; }

    public bool Boolean => Integer != 0;

    public static FieldValue FromFloat(double value) => new(FieldKind.Float, value, 0, null);

    public static FieldValue FromInteger(long value) => new(FieldKind.Integer, value, value, null);

    public static FieldValue FromBoolean(bool value) => new(FieldKind.Boolean, value ? 1 : 0, value ? 1 : 0, null);

    public static FieldValue FromString(string value) => new(FieldKind.String, double.NaN, 0, value);

    /// <summary>The numeric value (integers and booleans widened), or null for strings.</summary>
    public double? AsDouble() => Kind == FieldKind.String ? null : Float;

    public override string ToString() => Kind switch
    {
        FieldKind.Float => Float.ToString("R", CultureInfo.InvariantCulture),
        FieldKind.Integer => Integer.ToString(CultureInfo.InvariantCulture) + "i",
        FieldKind.Boolean => Boolean ? "true" : "false",
        _ => "\"" + String + "\"",
    };
}

/// <summary>InfluxDB's names for field types and its wording of a type conflict, shared by the stores and ingest.</summary>
public static class FieldKinds
{
    public static string InfluxName(this FieldKind kind) => kind switch
    {
        FieldKind.Float => "float",
        FieldKind.Integer => "integer",
        FieldKind.Boolean => "boolean",
        _ => "string",
    };

    /// <summary>InfluxDB 1.x's words: <c>field type conflict: input field "f" on measurement "m" is type integer, already exists as type float</c>.</summary>
    public static string Conflict(string field, string measurement, FieldKind input, FieldKind existing) =>
        string.Create(CultureInfo.InvariantCulture,
            $"field type conflict: input field \"{field}\" on measurement \"{measurement}\" is type {input.InfluxName()}, already exists as type {existing.InfluxName()}");
}
