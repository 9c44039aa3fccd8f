//! Small conversions between JS values and Rust ones.

use js_sys::{Array, Float32Array, Float64Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};

/// A property of an options object; `None` when absent, `undefined` or `null`.
pub fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return None;
    }
    let v = Reflect::get(obj, &key.into()).ok()?;
    (!v.is_undefined() && !v.is_null()).then_some(v)
}

fn bad(key: &str, want: &str, v: &JsValue) -> Error {
    Error::Options(format!("option `{key}` must be {want}, got {v:?}"))
}

/// A string property.
pub fn get_str(obj: &JsValue, key: &str) -> Result<Option<String>> {
    get(obj, key)
        .map(|v| v.as_string().ok_or_else(|| bad(key, "a string", &v)))
        .transpose()
}

/// A number property.
pub fn get_f64(obj: &JsValue, key: &str) -> Result<Option<f64>> {
    get(obj, key)
        .map(|v| v.as_f64().ok_or_else(|| bad(key, "a number", &v)))
        .transpose()
}

/// An integer property.
pub fn get_i64(obj: &JsValue, key: &str) -> Result<Option<i64>> {
    match get_f64(obj, key)? {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
        Some(x) => Err(bad(key, "an integer", &JsValue::from(x))),
        None => Ok(None),
    }
}

/// A boolean property.
pub fn get_bool(obj: &JsValue, key: &str) -> Result<Option<bool>> {
    get(obj, key)
        .map(|v| v.as_bool().ok_or_else(|| bad(key, "a boolean", &v)))
        .transpose()
}

/// An array-of-integers property (a single number counts as one).
pub fn get_i64s(obj: &JsValue, key: &str) -> Result<Option<Vec<i64>>> {
    let Some(v) = get(obj, key) else {
        return Ok(None);
    };
    if v.as_f64().is_some() {
        return Ok(get_i64(obj, key)?.map(|x| vec![x]));
    }
    let arr: &Array = v
        .dyn_ref()
        .ok_or_else(|| bad(key, "an array of integers", &v))?;
    arr.iter()
        .map(|x| match x.as_f64() {
            Some(f) if f.fract() == 0.0 => Ok(f as i64),
            _ => Err(bad(key, "an array of integers", &x)),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// A plain object being filled in.
pub struct Obj(Object);

impl Obj {
    pub fn new() -> Self {
        Self(Object::new())
    }

    pub fn set(&self, key: &str, value: impl Into<JsValue>) -> &Self {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &key.into(), &value.into());
        self
    }

    pub fn opt<T: Into<JsValue>>(&self, key: &str, value: Option<T>) -> &Self {
        match value {
            Some(v) => self.set(key, v),
            None => self.set(key, JsValue::NULL),
        }
    }

    pub fn into_js(self) -> JsValue {
        self.0.into()
    }
}

/// Numbers as a JS array.
pub fn numbers<T: Copy + Into<f64>>(v: &[T]) -> Array {
    v.iter().map(|x| JsValue::from((*x).into())).collect()
}

/// Integers as a JS array of numbers.
pub fn ints(v: &[i64]) -> Array {
    v.iter().map(|x| JsValue::from(*x as f64)).collect()
}

/// Strings as a JS array.
pub fn strings<S: AsRef<str>>(v: &[S]) -> Array {
    v.iter().map(|x| JsValue::from(x.as_ref())).collect()
}

/// A `Float32Array` copy of `v`.
pub fn f32s(v: &[f32]) -> Float32Array {
    Float32Array::from(v)
}

/// A `Float64Array` copy of `v`.
pub fn f64s(v: &[f64]) -> Float64Array {
    Float64Array::from(v)
}
