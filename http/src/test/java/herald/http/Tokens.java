package herald.http;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/** Tokens for tests: the keys are made at test time, the secret is a test value. */
final class Tokens {
    static final String SECRET = "herald-test-secret-of-at-least-32-bytes!";
    static final KeyPair RSA = generate("RSA", null);
    static final KeyPair EC = generate("EC", new ECGenParameterSpec("secp256r1"));

    private Tokens() {
    }

    private static KeyPair generate(String algorithm, ECGenParameterSpec spec) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
            if (spec != null) {
                generator.initialize(spec);
            } else {
                generator.initialize(2048);
            }
            return generator.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static JWTClaimsSet.Builder claims(String sub, Duration validFor, List<String> subscribe, List<String> publish) {
        return new JWTClaimsSet.Builder().subject(sub).expirationTime(Date.from(Instant.now().plus(validFor)))
                .claim("subscribe", subscribe).claim("publish", publish);
    }

    static String hs256(String sub, Duration validFor, List<String> subscribe, List<String> publish) {
        return sign(JWSAlgorithm.HS256, macSigner(SECRET.getBytes(StandardCharsets.UTF_8)),
                claims(sub, validFor, subscribe, publish).build());
    }

    static String hs256(JWTClaimsSet claims) {
        return sign(JWSAlgorithm.HS256, macSigner(SECRET.getBytes(StandardCharsets.UTF_8)), claims);
    }

    static String rs256(JWTClaimsSet claims) {
        return sign(JWSAlgorithm.RS256, new RSASSASigner(RSA.getPrivate()), claims);
    }

    static String es256(JWTClaimsSet claims) {
        try {
            return sign(JWSAlgorithm.ES256, new ECDSASigner((ECPrivateKey) EC.getPrivate()), claims);
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static JWSSigner macSigner(byte[] secret) {
        try {
            return new MACSigner(secret);
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sign(JWSAlgorithm algorithm, JWSSigner signer, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(algorithm), claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An unsigned token ({@code alg: none}) with these claims. */
    static String unsigned(JWTClaimsSet claims) {
        return Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + Base64URL.encode(claims.toString()) + ".";
    }

    static Path writeRsaPem(Path dir) throws Exception {
        String pem = "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(RSA.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
        return Files.writeString(dir.resolve("rsa.pem"), pem);
    }

    static Path writeEcJwks(Path dir) throws Exception {
        ECKey key = new ECKey.Builder(Curve.P_256, (ECPublicKey) EC.getPublic()).keyID("ec-1").build();
        return Files.writeString(dir.resolve("keys.jwks"), new JWKSet(key).toString());
    }
}
